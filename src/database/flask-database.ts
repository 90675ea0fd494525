import * as ec2 from 'aws-cdk-lib/aws-ec2';
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
   * Secret whose JSON holds the user's credentials; the service reads its `password` field.
   */
  readonly secret: secretsmanager.ISecret;
  /**
   * What must exist before the app's first tasks start, such as the writer instance: CloudFormation
   * creates a cluster long before it can take connections.
   * @default - nothing to wait for
   */
  readonly startAfter?: IDependable;
}
