#!/usr/bin/env node
// The example CDK app: the reference Flask app (./flask-app) on the platform, in ap-southeast-1,
// twice: on ECS Fargate (FlaskServerlessExample) and on Lambda (FlaskServerlessLambdaExample).
// Deploy one of them by name: `npx cdk deploy FlaskServerlessLambdaExample`.
// In your own app, import from 'cdk-flask-serverless' instead of '../src'.
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ComputeType, FlaskServerlessPlatform } from '../src';

const app = new App();
const stack = new Stack(app, 'FlaskServerlessExample', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: 'ap-southeast-1' },
  description: 'Reference Flask + PostgreSQL app on Aurora Serverless v2, ECS Fargate and API Gateway (cdk-flask-serverless)',
});

new FlaskServerlessPlatform(stack, 'App', {
  // Built for the tasks' architecture (X86_64 by default) whatever machine deploys.
  image: ecs.ContainerImage.fromAsset(path.join(__dirname, 'flask-app'), { platform: ecrAssets.Platform.LINUX_AMD64 }),
  // The reference image runs as user 10001 (see its Dockerfile); naming it shows it in the task definition.
  service: { containerUser: '10001' },
  monitoring: { alarmEmail: process.env.ALARM_EMAIL },
});

// The same image on Lambda: nothing runs while idle, no NAT, no load balancer; migrations run once
// per deployment, before the new code serves.
const lambdaStack = new Stack(app, 'FlaskServerlessLambdaExample', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: 'ap-southeast-1' },
  description: 'Reference Flask + PostgreSQL app on Aurora Serverless v2, AWS Lambda and API Gateway (cdk-flask-serverless)',
});

new FlaskServerlessPlatform(lambdaStack, 'App', {
  compute: ComputeType.LAMBDA,
  // The same Dockerfile; built for the functions' architecture (x86_64 by default).
  functionCode: lambda.DockerImageCode.fromImageAsset(path.join(__dirname, 'flask-app'), { platform: ecrAssets.Platform.LINUX_AMD64 }),
  monitoring: { alarmEmail: process.env.ALARM_EMAIL },
});
