import { Aws } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IDependable } from 'constructs';

/**
 * What a Flask service needs to know about its PostgreSQL database: where it is, which
 * database and user to use, where the password lives, and how to open the network path to it.
 *
 * `AuroraServerlessV2Db` implements it; implement it yourself to point a `FlaskFargateService`
 * at a database this library did not create.
 */
export interface IFlaskDatabase extends ec2.IConnectable {
  /** Host name of the writer endpoint. */
  readonly endpointAddress: string;
  /** TCP port of the writer endpoint. */
  readonly port: number;
  /** Name of the application database. */
  readonly databaseName: string;
  /** Name of the database user the application connects as. */
  readonly username: string;
  /**
   * Secret whose JSON holds the user's credentials; the service reads its `password` field (with
   * `appUsername`, its `username` and `password` fields, for the admin step only).
   */
  readonly secret: secretsmanager.ISecret;
  /**
   * What must exist before the app's first tasks start, such as the writer instance: CloudFormation
   * creates a cluster long before it can take connections.
   * @default - nothing to wait for
   */
  readonly startAfter?: IDependable;
  /**
   * The database role the application connects as, with IAM database authentication: owner of
   * its own schema only, created by the app's admin step (`python -m app.app_role`) with the
   * master credentials, which the serving app then never holds.
   * @default - none: the app connects as `username` with the secret's password
   */
  readonly appUsername?: string;
  /**
   * Resource ID of the cluster (`cluster-...`, CloudFormation's `DBClusterResourceId`), which
   * IAM database authentication policies name. Required with `appUsername`.
   * @default - none
   */
  readonly clusterResourceId?: string;
}

/** Grants on an `IFlaskDatabase`. */
export class FlaskDatabaseGrants {
  /**
   * Lets `grantee` connect to `database` as its `appUsername` with an IAM authentication token
   * (`rds-db:connect` on that one database user, in the stack's account and region).
   */
  public static grantAppConnect(database: IFlaskDatabase, grantee: iam.IGrantable): iam.Grant {
    if (database.appUsername === undefined || database.clusterResourceId === undefined) {
      throw new Error('grantAppConnect needs a database with appUsername and clusterResourceId (IAM database authentication).');
    }
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['rds-db:connect'],
      resourceArns: [`arn:${Aws.PARTITION}:rds-db:${Aws.REGION}:${Aws.ACCOUNT_ID}:dbuser:${database.clusterResourceId}/${database.appUsername}`],
    });
  }

  private constructor() {}
}
