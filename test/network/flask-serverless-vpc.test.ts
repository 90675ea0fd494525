import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
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
    expect(script).toMatch(/ExecStart=\/usr\/local\/sbin\/nat-masquerade\nRestart=on-failure\nRestartSec=5\n/);
    for (const part of [script, masqueradeScript(script)]) {
      const syntax = spawnSync('bash', ['-n'], { input: part });
      expect(syntax.stderr.toString()).toBe('');
      expect(syntax.status).toBe(0);
    }
  });

  describe('the masquerade script, run with stand-ins for ip, iptables and sleep', () => {
    const template = synth({ egress: EgressMode.NAT_INSTANCE });
    const script = masqueradeScript(Object.values(template.findResources('AWS::EC2::Instance'))[0].Properties.UserData['Fn::Base64']);

    test('waits until the default route appears, then masquerades on its interface', () => {
      const run = runMasquerade(script, 3);
      expect(run.status).toBe(0);
      expect(run.sleeps).toBe(3);
      expect(run.iptables).toContain('-t nat -A POSTROUTING -o ens5 -j MASQUERADE');
    });

    test('gives up after a bounded wait with a non-zero exit when no default route comes, adding no rule', () => {
      const run = runMasquerade(script, Infinity);
      expect(run.status).not.toBe(0);
      expect(run.sleeps).toBeLessThanOrEqual(60);
      expect(run.stderr).toContain('no default route');
      expect(run.iptables).toBe('');
    });
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

/** The /usr/local/sbin/nat-masquerade script that the boot script writes. */
function masqueradeScript(userData: string): string {
  const match = /cat > \/usr\/local\/sbin\/nat-masquerade <<'SCRIPT'\n([\s\S]*?)\nSCRIPT\n/.exec(userData);
  expect(match).not.toBeNull();
  return match![1];
}

/** Runs the script with an `ip` that shows no default route for the first `routeAfter` calls. */
function runMasquerade(script: string, routeAfter: number): { status: number | null; stderr: string; sleeps: number; iptables: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-masquerade-'));
  try {
    const stub = (name: string, body: string) => fs.writeFileSync(path.join(dir, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    const limit = Number.isFinite(routeAfter) ? routeAfter : 1000000;
    stub('ip', `n=$(cat "${dir}/ip.calls" 2>/dev/null || echo 0); echo $((n + 1)) > "${dir}/ip.calls"
[ "$n" -ge ${limit} ] && echo "default via 10.0.0.1 dev ens5 proto dhcp src 10.0.0.10 metric 512"
exit 0`);
    stub('sleep', `echo x >> "${dir}/sleep.calls"`);
    stub('iptables', `echo "$*" >> "${dir}/iptables.calls"; [ "$3" = "-C" ] && exit 1; exit 0`);
    const run = spawnSync('bash', ['-c', script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, timeout: 30000 });
    const read = (name: string) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name), 'utf8') : '');
    return {
      status: run.status,
      stderr: run.stderr.toString(),
      sleeps: read('sleep.calls').split('\n').filter(Boolean).length,
      iptables: read('iptables.calls'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
