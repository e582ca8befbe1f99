"""The test base images are real: third-party tools pull, unpack and run them."""

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
