import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EgressMode, FlaskServerlessVpc, FlaskServerlessVpcProps } from '../../src/network';

function synth(props: FlaskServerlessVpcProps = {}): Template {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
  new FlaskServerlessVpc(stack, 'Network', props);
  return Template.fromStack(stack);
}

function build(props: FlaskServerlessVpcProps): () => void {
  return () => new FlaskServerlessVpc(new Stack(new App(), 'Test'), 'Network', props);
}

describe('FlaskServerlessVpc defaults', () => {
  const template = synth();

  test('uses 10.0.0.0/16', () => {
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
  });

  test('has public, app and data subnets in two AZs', () => {
    template.resourceCountIs('AWS::EC2::Subnet', 6);
  });

  test('public subnets do not auto-assign public IPs', () => {
    for (const subnet of Object.values(template.findResources('AWS::EC2::Subnet'))) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    }
  });

  test('one NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
  });

  test('flow logs of all traffic go to an encrypted log group kept one month', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30, KmsKeyId: Match.anyValue() });
  });

  test('the default security group is locked down', () => {
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });
});

describe('FlaskServerlessVpc options', () => {
  test('a custom CIDR is used', () => {
    synth({ cidr: '172.20.0.0/20' }).hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '172.20.0.0/20' });
  });

  test('natGateways 2 creates two NAT gateways', () => {
    synth({ natGateways: 2 }).resourceCountIs('AWS::EC2::NatGateway', 2);
  });

  test('NAT instance egress uses one t4g.nano and no NAT gateway', () => {
    const template = synth({ egress: EgressMode.NAT_INSTANCE });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::Instance', { InstanceType: 't4g.nano', SourceDestCheck: false });
  });

  test('VPC endpoint egress has no internet route and the endpoints the tasks need', () => {
    const template = synth({ egress: EgressMode.VPC_ENDPOINTS });
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint'));
    const interfaces = endpoints.filter((e) => e.Properties.VpcEndpointType === 'Interface');
    // What a Fargate task pulling from ECR, reading SSM and Secrets Manager secrets and logging with
    // awslogs calls; S3 (image layers) is the free gateway endpoint. No KMS: SSM and Secrets Manager decrypt.
    const names = interfaces.map((e) => String(e.Properties.ServiceName).replace(/^com\.amazonaws\.[a-z0-9-]+\./, '')).sort();
    expect(names).toEqual(['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'ssm']);
    expect(endpoints.length).toBe(6);
    for (const e of interfaces) expect(e.Properties.SubnetIds).toHaveLength(2);
  });

  test('singleAzEndpoints puts every interface endpoint in one subnet', () => {
    const template = synth({ egress: EgressMode.VPC_ENDPOINTS, singleAzEndpoints: true });
    const interfaces = Object.values(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }));
    expect(interfaces).toHaveLength(5);
    const subnets = new Set(interfaces.map((e) => JSON.stringify(e.Properties.SubnetIds)));
    expect(subnets.size).toBe(1);
    expect(interfaces[0].Properties.SubnetIds).toHaveLength(1);
  });

  test('flow log retention is configurable', () => {
    synth({ flowLogRetention: 7 }).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });
});

describe('FlaskServerlessVpc validation', () => {
  test('rejects singleAzEndpoints without VPC-endpoint egress', () => {
    expect(build({ singleAzEndpoints: true })).toThrow(/network.singleAzEndpoints applies only to EgressMode.VPC_ENDPOINTS, but egress is NAT_GATEWAY/);
  });

  test('rejects a malformed CIDR', () => {
    expect(build({ cidr: '10.0.0.0' })).toThrow(/network.cidr must be an IPv4 CIDR block from \/16 to \/22/);
  });

  test('rejects a CIDR too small for the subnets', () => {
    expect(build({ cidr: '10.0.0.0/24' })).toThrow(/got '10.0.0.0\/24'/);
  });

  test('rejects a single AZ', () => {
    expect(build({ maxAzs: 1 })).toThrow(/network.maxAzs must be an integer from 2 to 6/);
  });

  test('rejects natGateways with another egress mode', () => {
    expect(build({ egress: EgressMode.VPC_ENDPOINTS, natGateways: 1 })).toThrow(/natGateways applies only to EgressMode.NAT_GATEWAY/);
  });

  test('rejects more NAT gateways than AZs', () => {
    expect(build({ natGateways: 3 })).toThrow(/network.natGateways must be an integer from 1 to maxAzs \(2\), got 3/);
  });
});
