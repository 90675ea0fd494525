package com.example;

import io.github.cdkflaskserverless.FlaskServerlessPlatform;
import java.nio.file.Paths;
import java.util.Map;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.assertions.Template;
import software.amazon.awscdk.services.ecs.ContainerImage;

/** Synthesizes the platform from Java and checks the template; exits non-zero if a check fails. */
public final class App {
    public static void main(final String[] args) {
        software.amazon.awscdk.App app = new software.amazon.awscdk.App();
        Stack stack = new Stack(app, "FlaskServerlessJava", StackProps.builder()
                .env(Environment.builder().region("ap-southeast-1").build())
                .build());
        String flaskApp = Paths.get("..", "flask-app").toAbsolutePath().normalize().toString();
        FlaskServerlessPlatform.Builder.create(stack, "App")
                .image(ContainerImage.fromAsset(flaskApp))
                .build();

        Template template = Template.fromStack(stack);
        template.hasResourceProperties("AWS::RDS::DBCluster", Map.of(
                "ServerlessV2ScalingConfiguration", Map.of("MinCapacity", 0, "MaxCapacity", 1, "SecondsUntilAutoPause", 300)));
        template.hasResourceProperties("AWS::ApiGateway::Stage", Map.of("StageName", "Test"));
        template.hasResourceProperties("AWS::ECS::TaskDefinition", Map.of("Cpu", "256", "Memory", "512"));
        System.out.println("Java consumer: platform synthesized, Aurora scaling, Test stage and 256/512 task checked");
    }
}
