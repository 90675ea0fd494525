import { Lazy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

/**
 * A security group with `allowAllOutbound: false` and only separate egress rules would be
 * created without inline egress, so EC2 gives it its default allow-all rule until the separate
 * rule replaces it (aws/aws-cdk#987, #3355). Keeping CDK's placeholder rule while the group has
 * no inline egress rule makes the template state that only the separate rules let traffic out,
 * and closes the window before they exist.
 */
export function keepEgressClosed(group: ec2.SecurityGroup): void {
  const cfnGroup = group.node.defaultChild as ec2.CfnSecurityGroup;
  const inlineEgress = cfnGroup.securityGroupEgress;
  cfnGroup.securityGroupEgress = Lazy.any({
    produce: () => {
      const rules = Stack.of(group).resolve(inlineEgress);
      return Array.isArray(rules) && rules.length > 0
        ? rules
        : [{ cidrIp: '255.255.255.255/32', description: 'Disallow all traffic', ipProtocol: 'icmp', fromPort: 252, toPort: 86 }];
    },
  });
}
