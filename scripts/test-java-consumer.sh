#!/usr/bin/env bash
# A Java CDK user's path: a Maven app compiled against the artifact in dist/java and aws-cdk-lib from
# Maven Central, run to synthesize the platform and check its template.
set -euo pipefail
cd "$(dirname "$0")/../examples/java"
ls ../../dist/java/io/github/cdk-flask-serverless/cdk-flask-serverless/*/*.jar >/dev/null \
  || { echo "no Maven artifact in dist/java; run 'npx projen package:java' first" >&2; exit 1; }
mvn -B -q compile exec:java
