import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { EgressMode, FlaskServerlessVpc } from '../../src/network';

describe('EgressMode.NONE', () => {
  const stack = new Stack(new App(), 'Test', { env: { region: 'ap-southeast-1' } });
  const network = new FlaskServerlessVpc(stack, 'Network', { egress: EgressMode.NONE });
  const template = Template.fromStack(stack);

  test('has no NAT, no internet gateway, no Elastic IP and no VPC endpoint', () => {
    for (const type of ['AWS::EC2::NatGateway', 'AWS::EC2::InternetGateway', 'AWS::EC2::EIP', 'AWS::EC2::VPCEndpoint', 'AWS::EC2::Instance']) {
      template.resourceCountIs(type, 0);
    }
  });

  test('has only isolated subnets: app and data, in two AZs, and no route out of the VPC', () => {
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.resourceCountIs('AWS::EC2::Route', 0);
    expect(network.vpc.selectSubnets(network.appSubnets).subnets.every((s) => network.vpc.isolatedSubnets.includes(s))).toBe(true);
    expect(network.vpc.publicSubnets).toHaveLength(0);
    expect(network.vpc.privateSubnets).toHaveLength(0);
    expect(network.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnets).toHaveLength(4);
  });

  test('keeps the flow logs', () => {
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
  });
});
