import { Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { buildStacks } from '../../integ/integ.service';
import { FlaskServerlessVpc } from '../../src/network';
import { FlaskFargateService, FlaskFargateServiceOptions } from '../../src/service';
import { gatedApp, runGates } from '../util/gates';

test('the service integ stacks pass cdk-nag AwsSolutions and cfn-guard', () => {
  const app = gatedApp();
  const stacks = buildStacks(app);
  const f = runGates(app, stacks);
  expect(f.nag).toEqual([]);
  expect(f.guard).toEqual([]);
});

// The integ stack keeps the plain TCP listener; these cover the TLS branches and their suppressions.
const variants: Record<string, FlaskFargateServiceOptions> = {
  'a TLS listener without access logs': {},
  'TLS to the tasks too': { containerTls: true },
};

test.each(Object.keys(variants))('the service with %s passes cdk-nag AwsSolutions and cfn-guard', (name) => {
  const app = gatedApp();
  const stack = new Stack(app, 'ServiceTls', { env: { region: 'ap-southeast-1' } });
  const network = new FlaskServerlessVpc(stack, 'Network');
  new FlaskFargateService(stack, 'Service', {
    vpc: network.vpc,
    vpcSubnets: network.appSubnets,
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-slim'),
    containerUser: '10001',
    tlsCertificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', 'arn:aws:acm:ap-southeast-1:111111111111:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7'),
    ...variants[name],
  });
  const f = runGates(app, [stack]);
  expect(f.nag).toEqual([]);
  expect(f.guard).toEqual([]);
});
