import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { EgressMode, FlaskServerlessPlatform, FlaskServerlessPlatformProps } from '../../src';
import { gatedApp, runGates } from '../util/gates';

const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim');

function platformStack(app: App, props: Partial<FlaskServerlessPlatformProps> = {}): Stack {
  const stack = new Stack(app, 'PublicSubnets', { env: { region: 'ap-southeast-1', account: '111111111111' } });
  new FlaskServerlessPlatform(stack, 'P', { image, network: { egress: EgressMode.PUBLIC_SUBNETS }, ...props });
  return stack;
}

function synth(props: Partial<FlaskServerlessPlatformProps> = {}) {
  return { template: Template.fromStack(platformStack(new App(), props)) };
}

describe('EgressMode.PUBLIC_SUBNETS', () => {
  const { template } = synth();
  const resources = template.toJSON().Resources as Record<string, any>;
  const service = Object.values(resources).find((r) => r.Type === 'AWS::ECS::Service');
  const taskSubnets: string[] = service.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets.map((s: any) => s.Ref);
  const routesOf = (subnet: string) => {
    const assoc = Object.values(resources).find((r) => r.Type === 'AWS::EC2::SubnetRouteTableAssociation' && r.Properties.SubnetId.Ref === subnet);
    const table = assoc.Properties.RouteTableId.Ref;
    return Object.values(resources).filter((r) => r.Type === 'AWS::EC2::Route' && r.Properties.RouteTableId.Ref === table);
  };

  test('no NAT gateway, no NAT instance, no interface endpoint', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Instance', 0);
    expect(Object.values(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }))).toHaveLength(0);
  });

  test('tasks get public addresses in subnets routed to the internet gateway', () => {
    expect(service.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe('ENABLED');
    for (const subnet of taskSubnets) {
      expect(resources[subnet].Properties.MapPublicIpOnLaunch).toBe(false);
      const routes = routesOf(subnet);
      expect(routes.some((r) => r.Properties.DestinationCidrBlock === '0.0.0.0/0' && r.Properties.GatewayId)).toBe(true);
    }
  });

  test('the task security group admits only the load balancer security group, on the container port', () => {
    const sgId = service.Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups[0]['Fn::GetAtt'][0];
    const inline = resources[sgId].Properties.SecurityGroupIngress ?? [];
    expect(inline).toEqual([]);
    const ingress = Object.values(resources).filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties.GroupId['Fn::GetAtt'][0] === sgId);
    expect(ingress).toHaveLength(1);
    expect(ingress[0].Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).toMatch(/LoadBalancerSecurityGroup/);
    expect(ingress[0].Properties.FromPort).toBe(8000);
    expect(ingress[0].Properties.CidrIp).toBeUndefined();
  });

  test('the load balancer stays internal and the database stays in isolated subnets', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    const group = Object.values(resources).find((r) => r.Type === 'AWS::RDS::DBSubnetGroup');
    for (const subnet of group.Properties.SubnetIds.map((s: any) => s.Ref)) {
      expect(routesOf(subnet)).toEqual([]);
    }
  });

  test('the platform refuses assignPublicIp false, which would leave the tasks no way out', () => {
    expect(() => synth({ service: { assignPublicIp: false } }))
      .toThrow(/service.assignPublicIp is false, but network.egress PUBLIC_SUBNETS has no NAT and no endpoints/);
  });

  test('the platform refuses secret rotation, whose function would get no route to Secrets Manager', () => {
    expect(() => synth({ database: { rotateSecretAfter: Duration.days(30) } }))
      .toThrow(/database.rotateSecretAfter needs a route to Secrets Manager, which network.egress PUBLIC_SUBNETS does not give/);
  });

  test('passes cdk-nag AwsSolutions and cfn-guard', () => {
    // Synthesized by runGates only: the gated app's own synth would report suppressed findings.
    const app = gatedApp();
    const findings = runGates(app, [platformStack(app, { service: { containerUser: '10001' } })]);
    expect(findings.nag).toEqual([]);
    expect(findings.guard).toEqual([]);
  });
});
