"""Build environments on base images kept in the installation's own registry (`make run`).

`seed_demo_base` and `seed_local_bases` push bases made from Debian packages to the local
registry; the rows made here point at them. They are custom rows (builtin=False), so the
built-in sync never touches them, and an admin may edit or disable them like any other.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from b2i.packaging.environments import get_environment
from builders.environments_sync import row_values
from builders.models import BuildEnvironment

JAVA = "local-java-17"
TOMCAT = "local-tomcat-10"
TOMCAT_JAVAEE = "local-tomcat-10-javaee"


def save_local_environment(
    name: str, template: str, base_image: str, title: str, **spec: Any
) -> BuildEnvironment:
    """Create or update environment NAME as a copy of built-in TEMPLATE on BASE_IMAGE."""
    values = row_values(get_environment(template))
    values["spec"] = {**values["spec"], **spec}
    values.update(title=title, base_image=base_image, builtin=False)
    environment = BuildEnvironment.objects.filter(name=name).first() or BuildEnvironment(name=name)
    for field, value in values.items():
        setattr(environment, field, value)
    environment.full_clean()  # the same checks as the admin, before anything is saved
    environment.save()
    return environment


@transaction.atomic
def save_debian_environments(java_image: str, tomcat_image: str) -> list[BuildEnvironment]:
    """Register the local JRE 17 and Tomcat 10 bases (javax WARs through Tomcat's migration)."""
    return [
        save_local_environment(
            JAVA, "java-17", java_image, "Java 17 (local Debian base)",
            description="Runs the JAR with `java -jar` on Debian's OpenJDK 17, from the local "
            "registry: works without internet access. Runs Java 8 to 17 bytecode.",
        ),
        save_local_environment(
            TOMCAT, "tomcat-10-java-17", tomcat_image, "Tomcat 10 (local Debian base)",
            description="Deploys a jakarta.servlet WAR into Debian's Tomcat 10.1 (official "
            "image layout), from the local registry: works without internet access.",
        ),
        save_local_environment(
            TOMCAT_JAVAEE, "tomcat-10-java-17", tomcat_image,
            "Tomcat 10 for javax WARs (local Debian base, migrated to Jakarta EE)",
            placement="/usr/local/tomcat/webapps-javaee/{context}.war",
            servlet_namespace="javax",
            description="Tomcat 10.1 converts a javax.servlet WAR to Jakarta EE when it starts "
            "(its legacy app base and the Jakarta EE migration tool, both from Debian).",
        ),
    ]  # fmt: skip
