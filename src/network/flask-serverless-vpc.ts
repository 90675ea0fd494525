import { CfnResource, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { givenOrNewLogsKey } from '../core/kms';
import { addCheckovSuppressions, addGuardSuppressions, addNagSuppressions, suppressShortLogRetention } from '../core/suppressions';

/**
 * How tasks in the private subnets reach AWS APIs (ECR image pulls, CloudWatch Logs, SSM,
 * Secrets Manager, KMS). The choice is mostly a cost decision; see the README's "Cost at idle".
 */
export enum EgressMode {
  /** Managed NAT gateways in the public subnets (`natGateways`, default one). Simplest, about 45 USD a month each. */
  NAT_GATEWAY = 'NAT_GATEWAY',
  /** One small EC2 NAT instance (t4g.nano): the cheapest internet egress, but you patch and watch it. */
  NAT_INSTANCE = 'NAT_INSTANCE',
  /**
   * No internet route at all: interface endpoints for what a Fargate task calls to start and run
   * (ECR API, ECR registry, CloudWatch Logs, SSM, Secrets Manager) and a free gateway endpoint for
   * S3 (image layers). No KMS endpoint: Parameter Store and Secrets Manager decrypt on the task's
   * behalf. Tightest, but each interface endpoint costs per AZ-hour; see `singleAzEndpoints`.
   */
  VPC_ENDPOINTS = 'VPC_ENDPOINTS',
  /**
   * The cheapest: no NAT and no interface endpoints. The tasks and the internal load balancer
   * sit in public subnets, and each task gets a public IPv4 address (about 3.65 USD a month per
   * task) to reach AWS APIs directly. Nothing on the internet can open a connection to a task:
   * its security group admits only the load balancer's security group, on the container port.
   * The trade-off: a task's address is public, so one wrong security group rule exposes it,
   * and its outbound HTTPS is not funnelled through a NAT or an endpoint policy. The database
   * stays in isolated subnets. (IPv6-only egress through an egress-only internet gateway would
   * cost nothing, but needs a dual-stack load balancer, VPC link and database path as well.)
   */
  PUBLIC_SUBNETS = 'PUBLIC_SUBNETS',
  /**
   * No egress at all: the app subnets are isolated like the database's, with no NAT, no internet
   * gateway and no VPC endpoint, so nothing in the VPC can reach the internet or an AWS API. For
   * compute that needs nothing from AWS at run time, such as `FlaskLambdaService` (Lambda pulls the
   * image and ships the logs outside the VPC; settings and secrets are resolved at deploy time; the
   * database token is signed locally). Fargate tasks cannot start here.
   */
  NONE = 'NONE',
}

/** Options of the VPC the platform creates. */
export interface FlaskServerlessVpcOptions {
  /**
   * IPv4 CIDR block of the VPC, a /16 to /22 range.
   * @default '10.0.0.0/16'
   */
  readonly cidr?: string;

  /**
   * Number of Availability Zones. Aurora and the load balancer need subnets in at least two.
   * @default 2
   */
  readonly maxAzs?: number;

  /**
   * How the tasks reach AWS APIs.
   * @default EgressMode.NAT_GATEWAY
   */
  readonly egress?: EgressMode;

  /**
   * Number of NAT gateways, with `EgressMode.NAT_GATEWAY`. One is cheapest; one per AZ
   * survives the loss of an AZ.
   * @default 1
   */
  readonly natGateways?: number;

  /**
   * With `EgressMode.VPC_ENDPOINTS`, put the interface endpoints in one AZ only, which halves
   * their cost with two AZs. Tasks in the other AZs reach them across AZs (a small per-GB
   * charge), and losing that AZ stops image pulls, logs and secret reads everywhere.
   * @default false
   */
  readonly singleAzEndpoints?: boolean;

  /**
   * KMS key that encrypts the flow logs. A `kms.Key` of this app gets the statements it needs added;
   * an imported key must allow CloudWatch Logs (`logs.<region>.amazonaws.com`) already.
   * `FlaskServerlessPlatform` passes its one platform key here.
   * @default - a new customer-managed key with yearly rotation (1 USD a month, and 1 more after each of its first two rotations)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Retention of the VPC flow logs (all traffic, to CloudWatch Logs).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;
}

/** Props of `FlaskServerlessVpc`. */
export interface FlaskServerlessVpcProps extends FlaskServerlessVpcOptions {}

/**
 * A VPC laid out for the platform: public subnets for NAT only (no auto-assigned public IPs),
 * private subnets for the load balancer and the tasks, isolated subnets for the database,
 * the default security group locked down, and flow logs to CloudWatch Logs.
 */
export class FlaskServerlessVpc extends Construct {
  /** Subnet group name of the subnets for the load balancer and the tasks. */
  public static readonly APP_SUBNET_GROUP = 'App';
  /** Subnet group name of the isolated subnets for the database. */
  public static readonly DATA_SUBNET_GROUP = 'Data';

  /** The VPC. */
  public readonly vpc: ec2.Vpc;
  /** The egress mode in use. */
  public readonly egress: EgressMode;
  /** Subnets of the load balancer and the tasks. */
  public readonly appSubnets: ec2.SubnetSelection;
  /** Subnets of the database. */
  public readonly dataSubnets: ec2.SubnetSelection;
  /** Log group of the VPC flow logs. */
  public readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FlaskServerlessVpcProps = {}) {
    super(scope, id);
    const cidr = props.cidr ?? '10.0.0.0/16';
    const maxAzs = props.maxAzs ?? 2;
    this.egress = props.egress ?? EgressMode.NAT_GATEWAY;
    validateCidr(cidr);
    if (!Token.isUnresolved(maxAzs) && (!Number.isInteger(maxAzs) || maxAzs < 2 || maxAzs > 6)) {
      throw new Error(`network.maxAzs must be an integer from 2 to 6 (Aurora and the load balancer need two AZs), got ${maxAzs}.`);
    }
    if (props.natGateways !== undefined && this.egress !== EgressMode.NAT_GATEWAY) {
      throw new Error(`network.natGateways applies only to EgressMode.NAT_GATEWAY, but egress is ${this.egress}; remove natGateways or change egress.`);
    }
    if (props.singleAzEndpoints !== undefined && this.egress !== EgressMode.VPC_ENDPOINTS) {
      throw new Error(`network.singleAzEndpoints applies only to EgressMode.VPC_ENDPOINTS, but egress is ${this.egress}; remove singleAzEndpoints or change egress.`);
    }
    const natGateways = props.natGateways ?? 1;
    if (!Token.isUnresolved(natGateways) && (!Number.isInteger(natGateways) || natGateways < 1 || natGateways > maxAzs)) {
      throw new Error(`network.natGateways must be an integer from 1 to maxAzs (${maxAzs}), got ${natGateways}; use EgressMode.VPC_ENDPOINTS for no NAT.`);
    }

    const withInternet = this.egress !== EgressMode.VPC_ENDPOINTS && this.egress !== EgressMode.NONE;
    const publicApp = this.egress === EgressMode.PUBLIC_SUBNETS;
    const subnetConfiguration: ec2.SubnetConfiguration[] = [
      {
        name: FlaskServerlessVpc.APP_SUBNET_GROUP,
        subnetType: publicApp ? ec2.SubnetType.PUBLIC : withInternet ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED,
        cidrMask: 24,
        // Tasks get a public address only when the service asks for one (assignPublicIp).
        mapPublicIpOnLaunch: publicApp ? false : undefined,
      },
      { name: FlaskServerlessVpc.DATA_SUBNET_GROUP, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 26 },
    ];
    if (withInternet && !publicApp) {
      // Public subnets hold only the NAT; nothing launched there gets a public IP by default.
      subnetConfiguration.unshift({ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 26, mapPublicIpOnLaunch: false });
    }

    let natGatewayProvider: ec2.NatProvider | undefined;
    if (this.egress === EgressMode.NAT_INSTANCE) {
      natGatewayProvider = ec2.NatProvider.instanceV2({
        instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO),
        machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
        defaultAllowedTraffic: ec2.NatTrafficDirection.OUTBOUND_ONLY,
        // The public subnets don't map public IPs on launch, so the NAT instance asks for one on
        // its own network interface; without it nothing in the private subnets reaches the internet.
        associatePublicIpAddress: true,
        userData: natInstanceUserData(),
      });
    }

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      maxAzs,
      natGateways: this.egress === EgressMode.NAT_GATEWAY ? natGateways : this.egress === EgressMode.NAT_INSTANCE ? 1 : 0,
      natGatewayProvider,
      subnetConfiguration,
      restrictDefaultSecurityGroup: true,
      enableDnsHostnames: true,
      enableDnsSupport: true,
    });
    this.appSubnets = { subnetGroupName: FlaskServerlessVpc.APP_SUBNET_GROUP };
    this.dataSubnets = { subnetGroupName: FlaskServerlessVpc.DATA_SUBNET_GROUP };

    if (natGatewayProvider instanceof ec2.NatInstanceProviderV2) {
      // The instance forwards traffic from the private subnets only.
      natGatewayProvider.connections.allowFrom(ec2.Peer.ipv4(cidr), ec2.Port.allTraffic(), 'NAT for the private subnets');
      for (const instance of this.vpc.node.findAll().filter((c): c is ec2.CfnInstance => c instanceof ec2.CfnInstance)) {
        // The NAT provider has no block device option; encrypt the root volume (AL2023: /dev/xvda).
        instance.blockDeviceMappings = [
          { deviceName: '/dev/xvda', ebs: { encrypted: true, volumeType: 'gp3', deleteOnTermination: true } },
        ];
        addNagSuppressions(instance, [
          { id: 'AwsSolutions-EC28', reason: 'A t4g.nano NAT instance chosen for cost; basic monitoring is enough to see it is up.' },
          { id: 'AwsSolutions-EC29', reason: 'The NAT instance is disposable: CloudFormation replaces it, so termination protection would only block updates.' },
        ]);
        addCheckovSuppressions(instance, [
          { id: 'CKV_AWS_88', reason: 'A NAT instance forwards the private subnets\' traffic to the internet; it needs its public IP. Its security group admits only the VPC CIDR.' },
        ]);
        addGuardSuppressions(instance, [
          { id: 'ec2_instance_no_public_ip_check', reason: 'A NAT instance forwards the private subnets\' traffic to the internet; it needs its public IP.' },
          { id: 'ec2_instance_detailed_monitoring_enabled_check', reason: 'A t4g.nano NAT instance chosen for cost; basic monitoring is enough to see it is up.' },
          { id: 'ec2_instance_nitro_encryption_in_transit_check', reason: 'Chosen for cost (t4g.nano); what it forwards to AWS APIs is already TLS.' },
        ]);
      }
    }

    if (this.egress === EgressMode.VPC_ENDPOINTS) {
      this.addServiceEndpoints(cidr, props.singleAzEndpoints ?? false);
    }

    // restrictDefaultSecurityGroup is done by a CDK-provided custom resource (one per stack) that
    // runs at deploy time only; it cannot live in the VPC it is locking down.
    const restrictProvider = Stack.of(this).node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
    if (restrictProvider) {
      addGuardSuppressions(restrictProvider.node.findChild('Handler'), [
        { id: 'lambda_inside_vpc_check', reason: 'CDK deploy-time handler that removes the default security group rules of the VPC being created; it calls the EC2 API only.' },
      ], true);
      addCheckovSuppressions(restrictProvider.node.findChild('Handler'), [
        { id: 'CKV_AWS_117', reason: 'CDK deploy-time handler that locks down the default security group of the VPC being created; it calls the EC2 API only.' },
        { id: 'CKV_AWS_115', reason: 'Runs once per deployment; reserved concurrency would take from the account pool for nothing.' },
        { id: 'CKV_AWS_116', reason: 'CloudFormation invokes it asynchronously, and the handler reports every outcome, failures included, to the stack\'s response URL, where the stack event records it; a dead-letter queue would only hold copies of events the stack already failed on.' },
      ], true);
      // The handler references its role with GetAtt already; its only DependsOn (on that role) is
      // redundant (cfn-lint W3005). Dropped with an override: CfnResource#removeDependency is
      // deprecated in later aws-cdk-lib releases and would print a warning on every synth.
      const handler = restrictProvider.node.tryFindChild('Handler');
      if (CfnResource.isCfnResource(handler)) handler.addDeletionOverride('DependsOn');
    }

    const flowLogKey = givenOrNewLogsKey(this, 'FlowLogKey', props.encryptionKey, { description: 'Encrypts the VPC flow logs' });
    const flowLogRetention = props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH;
    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: flowLogRetention,
      encryptionKey: flowLogKey,
    });
    suppressShortLogRetention(this.flowLogGroup, flowLogRetention,
      'Flow logs serve troubleshooting, not audit; a month keeps ingestion cost low at idle. Set network.flowLogRetention for longer.');
    // The delivery role may be assumed only for flow logs of this account and region (confused
    // deputy; the conditions the VPC guide gives for flow-log roles).
    const stack = Stack.of(this);
    const flowLogRole = new iam.Role(this, 'FlowLogRole', {
      assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'ec2', resource: 'vpc-flow-log', resourceName: '*' }) },
      }),
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup, flowLogRole),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
  }

  private addServiceEndpoints(cidr: string, singleAz: boolean): void {
    this.vpc.addGatewayEndpoint('S3', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [this.appSubnets],
    });
    const services: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
      EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
      EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
      Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
      Ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
      SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    };
    const subnets = singleAz ? { subnets: this.vpc.selectSubnets(this.appSubnets).subnets.slice(0, 1) } : this.appSubnets;
    for (const [id, service] of Object.entries(services)) {
      // open: false; the endpoints admit HTTPS from inside the VPC only.
      const endpoint = this.vpc.addInterfaceEndpoint(id, { service, subnets, open: false });
      endpoint.connections.allowFrom(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
    }
  }
}

/**
 * Boot script of the NAT instance (Amazon Linux 2023 on a t4g.nano). It replaces the CDK default,
 * which installs iptables-services with one `yum install` at first boot: on AL2023 that install
 * races the image's own boot-time dnf runs and can fail (aws/aws-cdk#36717), leaving an instance
 * that forwards nothing, and dnf's metadata barely fits in 512 MiB of memory. So:
 * - iptables is installed only if the image lacks it, with swap during the install and retries;
 * - no iptables-services: a small systemd unit re-adds the one masquerade rule at every boot
 *   (user data itself runs only at first boot), on whatever interface holds the default route;
 *   it waits for that route, and systemd restarts it if the route never came.
 */
function natInstanceUserData(): ec2.UserData {
  const userData = ec2.UserData.forLinux();
  userData.addCommands(
    'set -uo pipefail',
    'if ! command -v iptables >/dev/null; then',
    '  dd if=/dev/zero of=/var/nat-install.swap bs=1M count=512 status=none && chmod 600 /var/nat-install.swap',
    '  mkswap /var/nat-install.swap >/dev/null && swapon /var/nat-install.swap',
    '  for attempt in $(seq 1 30); do',
    '    dnf install -y --setopt=install_weak_deps=False iptables-nft && break',
    '    echo "iptables install failed (attempt $attempt of 30); retrying in 10 s"; sleep 10',
    '  done',
    '  swapoff /var/nat-install.swap; rm -f /var/nat-install.swap',
    'fi',
    'command -v iptables >/dev/null || { echo "iptables is missing: NAT not configured" >&2; exit 1; }',
    'echo "net.ipv4.ip_forward=1" > /etc/sysctl.d/90-nat.conf',
    'sysctl -p /etc/sysctl.d/90-nat.conf',
    "cat > /usr/local/sbin/nat-masquerade <<'SCRIPT'",
    '#!/bin/bash',
    // network-online.target does not promise a default route yet; with an empty interface
    // name the rule would masquerade nothing. Wait up to 2 minutes, then fail (systemd retries).
    'for attempt in $(seq 1 60); do',
    "  iface=$(ip route show default | awk '{print $5; exit}')",
    '  [ -n "$iface" ] && break',
    '  sleep 2',
    'done',
    'if [ -z "$iface" ]; then echo "no default route after 2 minutes: NAT not configured" >&2; exit 1; fi',
    'iptables -t nat -C POSTROUTING -o "$iface" -j MASQUERADE 2>/dev/null || iptables -t nat -A POSTROUTING -o "$iface" -j MASQUERADE',
    'SCRIPT',
    'chmod 755 /usr/local/sbin/nat-masquerade',
    "cat > /etc/systemd/system/nat-masquerade.service <<'UNIT'",
    '[Unit]',
    'Description=Masquerade the traffic forwarded from the private subnets',
    'Wants=network-online.target',
    'After=network-online.target',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    'ExecStart=/usr/local/sbin/nat-masquerade',
    'Restart=on-failure',
    'RestartSec=5',
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    'systemctl daemon-reload',
    'systemctl enable --now nat-masquerade.service',
  );
  return userData;
}

function validateCidr(cidr: string): void {
  if (Token.isUnresolved(cidr)) return;
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octetsOk = match && match.slice(1, 5).every((o) => Number(o) <= 255);
  const prefix = match ? Number(match[5]) : NaN;
  if (!match || !octetsOk || prefix < 16 || prefix > 22) {
    throw new Error(`network.cidr must be an IPv4 CIDR block from /16 to /22 (e.g. '10.0.0.0/16'), got '${cidr}'.`);
  }
}
