import { spawnSync } from 'child_process';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
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

  test('the lock-down handler has no redundant DependsOn on the role it already references', () => {
    const handler = Object.entries(template.findResources('AWS::Lambda::Function'))
      .find(([id]) => id.startsWith('CustomVpcRestrictDefaultSGCustomResourceProvider'))![1];
    expect(handler.DependsOn).toBeUndefined();
    expect(handler.Properties.Role).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^CustomVpcRestrictDefaultSGCustomResourceProviderRole/), 'Arn'] });
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

  test('the NAT instance gets a public address while the public subnets keep MapPublicIpOnLaunch false', () => {
    const template = synth({ egress: EgressMode.NAT_INSTANCE });
    template.hasResourceProperties('AWS::EC2::Instance', {
      NetworkInterfaces: [Match.objectLike({ DeviceIndex: '0', AssociatePublicIpAddress: true })],
    });
    for (const subnet of Object.values(template.findResources('AWS::EC2::Subnet'))) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    }
  });

  test('the NAT instance boot script retries the iptables install, swaps while installing and re-applies NAT at every boot', () => {
    const template = synth({ egress: EgressMode.NAT_INSTANCE });
    const instance = Object.values(template.findResources('AWS::EC2::Instance'))[0];
    const script: string = instance.Properties.UserData['Fn::Base64'];
    expect(script).not.toContain('yum install iptables-services -y\n'); // the single-shot install that races dnf at boot
    expect(script).toMatch(/for attempt in \$\(seq 1 30\); do\n\s+dnf install -y [^\n]*iptables-nft && break/);
    expect(script).toContain('swapon /var/nat-install.swap');
    expect(script).toContain('systemctl enable --now nat-masquerade.service');
    expect(script).toContain("ip route show default | awk '{print $5; exit}'");
    const syntax = spawnSync('bash', ['-n'], { input: script });
    expect(syntax.stderr.toString()).toBe('');
    expect(syntax.status).toBe(0);
  });

  test('VPC endpoint egress has no internet route and the endpoints the tasks need', () => {
    const template = synth({ egress: EgressMode.VPC_ENDPOINTS });
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint'));
    const interfaceCount = endpoints.filter((e) => e.Properties.VpcEndpointType === 'Interface').length;
    expect(interfaceCount).toBe(6);
    expect(endpoints.length).toBe(7);
  });

  test('flow log retention is configurable', () => {
    synth({ flowLogRetention: 7 }).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });
});

test('building the VPC calls no CfnResource#removeDependency (deprecated in later aws-cdk-lib releases)', () => {
  const removeDependency = jest.spyOn(CfnResource.prototype, 'removeDependency');
  try {
    for (const egress of [EgressMode.NAT_GATEWAY, EgressMode.NAT_INSTANCE, EgressMode.VPC_ENDPOINTS]) synth({ egress });
    expect(removeDependency).not.toHaveBeenCalled();
  } finally {
    removeDependency.mockRestore();
  }
});

describe('FlaskServerlessVpc validation', () => {
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
