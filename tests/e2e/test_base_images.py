"""The test base images are real: third-party tools pull, unpack and run them."""

import subprocess
from pathlib import Path

from tests.fixtures.base_images import BaseImage
from tests.fixtures.processes import free_port
from tests.fixtures.run_image import ImageRunner


def test_busybox_base_runs_httpd_from_its_unpacked_root(
    busybox_base: BaseImage, image_runner: ImageRunner
) -> None:
    image = image_runner.pull(busybox_base.pinned)
    (image.rootfs / "www" / "index.html").write_text("busybox base answers\n")
    port = free_port()
    image.runtime_config["process"]["args"] = [
        "httpd",
        "-f",
        "-p",
        f"127.0.0.1:{port}",
        "-h",
        "/www",
    ]
    running = image_runner.start(image)
    response = running.wait_for_http(f"http://127.0.0.1:{port}/index.html", timeout=20)
    assert response.text == "busybox base answers\n"


def test_tomcat_base_serves_a_war_on_the_port_given_in_catalina_opts(
    tomcat_base: BaseImage, image_runner: ImageRunner, tmp_path: Path
) -> None:
    image = image_runner.pull(tomcat_base.pinned)
    war_dir = tmp_path / "war"
    (war_dir / "WEB-INF").mkdir(parents=True)
    (war_dir / "index.html").write_text("tomcat base answers\n")
    webapps = image.rootfs / "usr/local/tomcat/webapps"
    subprocess.run(["jar", "cf", str(webapps / "demo.war"), "-C", str(war_dir), "."], check=True)
    port = free_port()
    running = image_runner.start(image, env={"CATALINA_OPTS": f"-Dhttp.port={port}"})
    response = running.wait_for_http(f"http://127.0.0.1:{port}/demo/", timeout=60)
    assert response.text == "tomcat base answers\n"
