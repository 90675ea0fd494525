"""The example app for Python CDK users: the reference Flask app on the platform, in ap-southeast-1."""
import os

import aws_cdk as cdk
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from cdk_flask_serverless import FlaskServerlessPlatform

FLASK_APP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "flask-app")


def build(app: cdk.App) -> cdk.Stack:
    stack = cdk.Stack(app, "FlaskServerlessPython", env=cdk.Environment(region="ap-southeast-1"))
    FlaskServerlessPlatform(stack, "App", image=ecs.ContainerImage.from_asset(FLASK_APP_DIR, platform=ecr_assets.Platform.LINUX_AMD64))
    return stack


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
