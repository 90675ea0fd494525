import { Json } from './cfn';

/**
 * The AWS managed policies the library's roles use, as AWS publishes them (AWS Managed Policy
 * Reference Guide). A role with any other AWS managed policy fails the proofs until it is added.
 */
const POLICIES: Record<string, Json> = {
  'service-role/AmazonRDSEnhancedMonitoringRole': {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'EnableCreationAndManagementOfRDSCloudwatchLogGroups',
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'],
        Resource: ['arn:aws:logs:*:*:log-group:RDS*'],
      },
      {
        Sid: 'EnableCreationAndManagementOfRDSCloudwatchLogStreams',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:GetLogEvents'],
        Resource: ['arn:aws:logs:*:*:log-group:RDS*:log-stream:*'],
      },
    ],
  },
  'service-role/AmazonAPIGatewayPushToCloudWatchLogs': {
    Version: '2012-10-17',
    Statement: [{
      Effect: 'Allow',
      Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogGroups', 'logs:DescribeLogStreams', 'logs:PutLogEvents', 'logs:GetLogEvents', 'logs:FilterLogEvents'],
      Resource: '*',
    }],
  },
  'service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  },
  'service-role/AWSLambdaVPCAccessExecutionRole': {
    Version: '2012-10-17',
    Statement: [{
      Effect: 'Allow',
      Action: [
        'logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses',
      ],
      Resource: '*',
    }],
  },
  'AmazonSSMManagedInstanceCore': {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['ssm:DescribeAssociation', 'ssm:GetDeployablePatchSnapshotForInstance', 'ssm:GetDocument', 'ssm:DescribeDocument', 'ssm:GetManifest', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:ListAssociations', 'ssm:ListInstanceAssociations', 'ssm:PutInventory', 'ssm:PutComplianceItems', 'ssm:PutConfigurePackageResult', 'ssm:UpdateAssociationStatus', 'ssm:UpdateInstanceAssociationStatus', 'ssm:UpdateInstanceInformation'], Resource: '*' },
      { Effect: 'Allow', Action: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'], Resource: '*' },
      { Effect: 'Allow', Action: ['ec2messages:AcknowledgeMessage', 'ec2messages:DeleteMessage', 'ec2messages:FailMessage', 'ec2messages:GetEndpoint', 'ec2messages:GetMessages', 'ec2messages:SendReply'], Resource: '*' },
    ],
  },
};

/** The document of an AWS managed policy, by ARN (`arn:aws:iam::aws:policy/<name>`). */
export function awsManagedPolicy(arn: string): Json {
  const name = arn.replace(/^arn:aws:iam::aws:policy\//, '');
  const policy = POLICIES[name];
  if (!policy) throw new Error(`AWS managed policy ${arn} is not in test/paths/lib/managed-policies.ts; add its document`);
  return policy;
}
