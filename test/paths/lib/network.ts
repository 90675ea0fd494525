import { Json, REGION, ResolvedTemplate } from './cfn';

/** A caller inside the VPC: its subnet and security groups (resolved ids, e.g. `sg-<logicalId>`). */
export interface Endpoint {
  readonly subnet: string;
  readonly securityGroups: string[];
  /** The caller gets its own public IPv4 address (an ECS task with AssignPublicIp ENABLED). */
  readonly publicIp?: boolean;
}

/** An IPv4 CIDR as [address as a number, prefix length]. */
function parseCidr(cidr: string): [number, number] {
  const [ip, bits] = cidr.split('/');
  return [ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0), Number(bits ?? 32)];
}

/** Whether CIDR `outer` contains every address of CIDR `inner`. */
export function cidrContains(outer: string, inner: string): boolean {
  const [on, op] = parseCidr(outer);
  const [inn, ip] = parseCidr(inner);
  const block = 2 ** (32 - op);
  return op <= ip && Math.floor(on / block) === Math.floor(inn / block);
}

export interface Rule {
  readonly protocol: string;
  readonly from: number;
  readonly to: number;
  readonly cidr?: string;
  readonly sg?: string;
  readonly prefixList?: string;
}

function toRule(r: Json, peerSgKey: string): Rule {
  const protocol = String(r.IpProtocol);
  const all = protocol === '-1';
  return {
    protocol: all ? '-1' : protocol,
    from: all ? 0 : Number(r.FromPort),
    to: all ? 65535 : Number(r.ToPort),
    cidr: r.CidrIp,
    sg: r[peerSgKey],
    prefixList: r.SourcePrefixListId ?? r.DestinationPrefixListId,
  };
}

function ruleCovers(rule: Rule, port: number): boolean {
  return (rule.protocol === '-1' || rule.protocol === 'tcp' || rule.protocol === '6') && rule.from <= port && port <= rule.to;
}

/**
 * Reads a VPC out of a resolved template: subnets, route tables, NAT gateways and instances,
 * internet gateways, VPC endpoints and security groups, with CloudFormation's defaults (a
 * security group with no egress rules in its definition allows all egress).
 */
export class Network {
  constructor(private readonly t: ResolvedTemplate) {}

  /** Resolved subnet id (its logical id) → subnet properties. */
  public subnet(subnetId: string): Json {
    if (!this.t.raw.Resources[subnetId] || this.t.resource(subnetId).Type !== 'AWS::EC2::Subnet') {
      throw new Error(`subnet ${subnetId} is not defined in the template`);
    }
    return this.t.props(subnetId);
  }

  /** The security group's logical id from its resolved GroupId (`sg-<logicalId>`). */
  private sgId(groupId: string): string {
    return groupId.replace(/^sg-/, '');
  }

  public routeTableOf(subnetId: string): string | undefined {
    const assoc = this.t.ofType('AWS::EC2::SubnetRouteTableAssociation').find((id) => this.t.props(id).SubnetId === subnetId);
    return assoc ? this.t.props(assoc).RouteTableId : undefined;
  }

  /** Routes of a route table as `{ destination, target }` (target: `igw:<id>`, `nat:<id>`, `instance:<id>`, `vpce:<id>`). */
  public routes(routeTableId: string): { destination: string; target: string }[] {
    return this.t.ofType('AWS::EC2::Route')
      .map((id) => this.t.props(id))
      .filter((r) => r.RouteTableId === routeTableId)
      .map((r) => ({
        destination: r.DestinationCidrBlock ?? r.DestinationPrefixListId ?? r.DestinationIpv6CidrBlock,
        target: r.GatewayId ? `igw:${r.GatewayId}` : r.NatGatewayId ? `nat:${r.NatGatewayId}` : r.InstanceId ? `instance:${r.InstanceId}`
          : r.VpcEndpointId ? `vpce:${r.VpcEndpointId}` : r.NetworkInterfaceId ? `eni:${r.NetworkInterfaceId}` : 'unknown',
      }));
  }

  private defaultRoute(subnetId: string): string | undefined {
    const rt = this.routeTableOf(subnetId);
    return rt ? this.routes(rt).find((r) => r.destination === '0.0.0.0/0')?.target : undefined;
  }

  /** Whether the subnet's default route leads to an internet gateway attached to the VPC. */
  private publicSubnetProblems(subnetId: string, what: string): string[] {
    const target = this.defaultRoute(subnetId);
    if (!target?.startsWith('igw:')) return [`${what}: its subnet ${subnetId} has no default route to an internet gateway (${target ?? 'none'})`];
    const igw = target.slice(4);
    const attached = this.t.ofType('AWS::EC2::VPCGatewayAttachment').some((id) => this.t.props(id).InternetGatewayId === igw);
    return attached ? [] : [`${what}: internet gateway ${igw} is not attached to the VPC`];
  }

  /**
   * Problems on the way from `from` to the internet on TCP `port`: the default route, the NAT
   * (gateway with an EIP, or instance with a public address, source/dest check off, and security
   * groups that pass the traffic), the internet gateway, and the caller's egress.
   */
  public internetProblems(from: Endpoint, port: number): string[] {
    const problems = this.egressProblems(from.securityGroups, port, { cidr: '0.0.0.0/0' }).map((p) => `to the internet: ${p}`);
    const target = this.defaultRoute(from.subnet);
    if (!target) return [...problems, `subnet ${from.subnet} has no default route (0.0.0.0/0): no way to the internet`];
    if (target.startsWith('nat:')) {
      const nat = this.t.props(target.slice(4));
      if (nat.ConnectivityType === 'private') problems.push(`NAT gateway ${target.slice(4)} is private`);
      if (!nat.AllocationId) problems.push(`NAT gateway ${target.slice(4)} has no Elastic IP`);
      problems.push(...this.publicSubnetProblems(nat.SubnetId, `NAT gateway ${target.slice(4)}`));
    } else if (target.startsWith('instance:')) {
      problems.push(...this.natInstanceProblems(target.slice(9), from, port));
    } else if (target.startsWith('igw:')) {
      if (from.publicIp) problems.push(...this.publicSubnetProblems(from.subnet, `caller in ${from.subnet}`));
      else problems.push(`subnet ${from.subnet} routes straight to the internet gateway; the caller would need its own public IP`);
    } else {
      problems.push(`subnet ${from.subnet} default route goes to ${target}`);
    }
    return problems;
  }

  private natInstanceProblems(instanceId: string, from: Endpoint, port: number): string[] {
    const problems: string[] = [];
    const inst = this.t.props(instanceId);
    const what = `NAT instance ${instanceId}`;
    if (inst.SourceDestCheck !== false) problems.push(`${what} has source/destination check on: it drops forwarded traffic`);
    const subnetId = inst.SubnetId ?? inst.NetworkInterfaces?.[0]?.SubnetId;
    const eip = this.t.ofType('AWS::EC2::EIP').some((id) => this.t.props(id).InstanceId === instanceId)
      || this.t.ofType('AWS::EC2::EIPAssociation').some((id) => this.t.props(id).InstanceId === instanceId);
    const associate = (inst.NetworkInterfaces ?? []).some((n: Json) => n.AssociatePublicIpAddress === true || n.AssociatePublicIpAddress === 'true');
    const mapOnLaunch = subnetId && this.subnet(subnetId).MapPublicIpOnLaunch === true && !inst.NetworkInterfaces;
    if (!eip && !associate && !mapOnLaunch) {
      problems.push(`${what} has no public address: no EIP, no AssociatePublicIpAddress, and its subnet ${subnetId} sets MapPublicIpOnLaunch ${this.subnet(subnetId).MapPublicIpOnLaunch}`);
    }
    if (subnetId) problems.push(...this.publicSubnetProblems(subnetId, what));
    const natSgs: string[] = inst.SecurityGroupIds ?? inst.NetworkInterfaces?.[0]?.GroupSet ?? [];
    // The instance receives the caller's packets (source: the caller's private address) and sends them on.
    problems.push(...this.ingressProblems(natSgs, port, { sgs: from.securityGroups, cidr: this.subnet(from.subnet).CidrBlock }).map((p) => `${what} inbound: ${p}`));
    problems.push(...this.egressProblems(natSgs, port, { cidr: '0.0.0.0/0' }).map((p) => `${what} outbound: ${p}`));
    return problems;
  }

  /**
   * Problems reaching an AWS service API (`ecr.api`, `logs`, `s3`, ...) on 443 from `from`:
   * through an interface endpoint with private DNS (its subnets in the VPC, its security group
   * admitting 443 from the caller), a gateway endpoint on the caller's route table (S3), or the
   * internet.
   */
  public serviceProblems(from: Endpoint, service: string): string[] {
    const serviceName = `com.amazonaws.${REGION}.${service}`;
    const endpoints = this.t.ofType('AWS::EC2::VPCEndpoint').filter((id) => this.t.props(id).ServiceName === serviceName);
    const rt = this.routeTableOf(from.subnet);
    const gateway = endpoints.find((id) => (this.t.props(id).VpcEndpointType ?? 'Gateway') === 'Gateway' && (this.t.props(id).RouteTableIds ?? []).includes(rt));
    if (gateway) {
      // Gateway endpoint traffic goes to the service's public addresses through the route table.
      return this.egressProblems(from.securityGroups, 443, { cidr: '0.0.0.0/0', prefixList: `pl-${service}` }).map((p) => `to ${service} (gateway endpoint): ${p}`);
    }
    const iface = endpoints.find((id) => this.t.props(id).VpcEndpointType === 'Interface');
    if (iface) {
      const e = this.t.props(iface);
      const problems: string[] = [];
      if (e.PrivateDnsEnabled !== true) problems.push(`interface endpoint ${iface} for ${service} has no private DNS: the SDK's default host name does not reach it`);
      const subnets: string[] = e.SubnetIds ?? [];
      if (subnets.length === 0) problems.push(`interface endpoint ${iface} has no subnets`);
      const callerAz = this.subnet(from.subnet).AvailabilityZone;
      const sameAz = subnets.find((s) => this.subnet(s).AvailabilityZone === callerAz);
      // Any endpoint subnet in the VPC is reachable over the local route; prefer the caller's AZ.
      const target = sameAz ?? subnets[0];
      if (target) {
        problems.push(...this.egressProblems(from.securityGroups, 443, { sgs: e.SecurityGroupIds ?? [], cidr: this.subnet(target).CidrBlock })
          .map((p) => `to the ${service} endpoint: ${p}`));
        problems.push(...this.ingressProblems(e.SecurityGroupIds ?? [], 443, { sgs: from.securityGroups, cidr: this.subnet(from.subnet).CidrBlock })
          .map((p) => `${service} endpoint ${iface} inbound: ${p}`));
      }
      return problems;
    }
    return this.internetProblems(from, 443).map((p) => `${service} (no endpoint, over the internet): ${p}`);
  }

  /** Problems on the way between two endpoints in the VPC on TCP `port`: routes and both sides' security groups. */
  public vpcProblems(from: Endpoint, to: Endpoint, port: number): string[] {
    const problems: string[] = [];
    for (const s of [from.subnet, to.subnet]) {
      if (!this.routeTableOf(s)) problems.push(`subnet ${s} has no route table association`);
    }
    if (this.subnet(from.subnet).VpcId !== this.subnet(to.subnet).VpcId) problems.push(`${from.subnet} and ${to.subnet} are in different VPCs`);
    problems.push(...this.egressProblems(from.securityGroups, port, { sgs: to.securityGroups, cidr: this.subnet(to.subnet).CidrBlock }).map((p) => `outbound: ${p}`));
    problems.push(...this.ingressProblems(to.securityGroups, port, { sgs: from.securityGroups, cidr: this.subnet(from.subnet).CidrBlock }).map((p) => `inbound: ${p}`));
    return problems;
  }

  /** Egress rules of a security group; undefined means CloudFormation's default allow-all. */
  public egressRules(groupId: string): Rule[] | undefined {
    const id = this.sgId(groupId);
    const p = this.t.props(id);
    const extra = this.t.ofType('AWS::EC2::SecurityGroupEgress').map((e) => this.t.props(e)).filter((e) => e.GroupId === groupId).map((e) => toRule(e, 'DestinationSecurityGroupId'));
    if (!p.SecurityGroupEgress) return [...extra, { protocol: '-1', from: 0, to: 65535, cidr: '0.0.0.0/0' }];
    return [...p.SecurityGroupEgress.map((r: Json) => toRule(r, 'DestinationSecurityGroupId')), ...extra];
  }

  public ingressRules(groupId: string): Rule[] {
    const id = this.sgId(groupId);
    const p = this.t.props(id);
    const extra = this.t.ofType('AWS::EC2::SecurityGroupIngress').map((e) => this.t.props(e)).filter((e) => e.GroupId === groupId).map((e) => toRule(e, 'SourceSecurityGroupId'));
    return [...(p.SecurityGroupIngress ?? []).map((r: Json) => toRule(r, 'SourceSecurityGroupId')), ...extra];
  }

  /** Problems unless one of `groups` lets TCP `port` out to the peer (its security groups, or an address in `cidr`). */
  public egressProblems(groups: string[], port: number, peer: { sgs?: string[]; cidr?: string; prefixList?: string }): string[] {
    if (groups.length === 0) return ['the caller has no security group'];
    const ok = groups.some((g) => (this.egressRules(g) ?? []).some((r) => ruleCovers(r, port) && this.matches(r, peer)));
    return ok ? [] : [`no egress rule of ${groups.join(', ')} allows tcp/${port} to ${peer.sgs?.join(', ') ?? ''} ${peer.cidr ?? ''}`.trim()];
  }

  /** Problems unless one of `groups` admits TCP `port` from the peer. */
  public ingressProblems(groups: string[], port: number, peer: { sgs?: string[]; cidr?: string }): string[] {
    if (groups.length === 0) return ['the target has no security group'];
    const ok = groups.some((g) => this.ingressRules(g).some((r) => ruleCovers(r, port) && this.matches(r, peer)));
    return ok ? [] : [`no ingress rule of ${groups.join(', ')} admits tcp/${port} from ${peer.sgs?.join(', ') ?? ''} ${peer.cidr ?? ''}`.trim()];
  }

  private matches(rule: Rule, peer: { sgs?: string[]; cidr?: string; prefixList?: string }): boolean {
    if (rule.sg && peer.sgs?.includes(rule.sg)) return true;
    if (rule.cidr && peer.cidr && cidrContains(rule.cidr, peer.cidr)) return true;
    if (rule.prefixList && peer.prefixList && rule.prefixList === peer.prefixList) return true;
    return false;
  }
}
