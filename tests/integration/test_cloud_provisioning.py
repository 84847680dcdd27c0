"""The shipped broker setup (`provisioning/broker/`): its mosquitto.conf (TLS and secure
websockets listeners) run by a real mosquitto with paths and ports moved to a temp dir,
credentials made by the shipped `add-venue` script, and a box linking over mqtts://."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import threading
from pathlib import Path

import paho.mqtt.client as mqtt

from appliance.cloud.link import MqttLink
from appliance.cloud.settings import LinkSettings, Topics, parse_broker
from tests.integration.cloud_kit import make_box
from tests.support.mosquitto import REPO, free_port, run_as_me, wait_listening

BROKER_DIR = REPO / "provisioning" / "broker"


def make_certs(d: Path) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")  # fmt: skip


def add_venue(passwd: Path, venue: str, password: str) -> str:
    out = subprocess.run(
        [str(BROKER_DIR / "add-venue"), venue, "127.0.0.1", password],
        env={**os.environ, "PASSWD": str(passwd)},
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def test_shipped_broker_config_with_tls_and_websockets(tmp_path: Path) -> None:
    box = make_box(tmp_path / "box")
    venue_id = box.runtime.state.venue.venue_id
    etc, certs, data = tmp_path / "etc", tmp_path / "certs", tmp_path / "data"
    for d in (etc, certs, data):
        d.mkdir()
    make_certs(certs)
    url = add_venue(etc / "passwd", venue_id, "venue-pw")
    add_venue(etc / "passwd", "--console", "console-pw")
    (etc / "acl").write_text((BROKER_DIR / "acl").read_text())
    tls_port, ws_port = free_port(), free_port()
    conf = (BROKER_DIR / "mosquitto.conf").read_text()
    conf = conf.replace("/etc/mosquitto/djamms/", f"{etc}/")
    conf = conf.replace("/etc/mosquitto/certs/", f"{certs}/")
    conf = conf.replace("/var/lib/mosquitto/", f"{data}/")
    conf = conf.replace("listener 8883", f"listener {tls_port} 127.0.0.1")
    conf = conf.replace("listener 8884", f"listener {ws_port} 127.0.0.1")
    conf = re.sub(r"log_dest syslog", f"log_dest file {tmp_path / 'broker.log'}", conf)
    (tmp_path / "mosquitto.conf").write_text(run_as_me() + conf)
    proc = subprocess.Popen(["mosquitto", "-c", str(tmp_path / "mosquitto.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    link = None
    try:
        wait_listening(proc, tls_port)
        wait_listening(proc, ws_port)
        assert url == f"mqtts://{venue_id}:venue-pw@127.0.0.1:8883"
        box_url = url.replace(":8883", f":{tls_port}")
        settings = LinkSettings(broker=parse_broker(box_url), ca_file=str(certs / "ca.crt"))
        assert settings.broker.tls
        link = MqttLink(box.runtime, settings, tmp_path / "box")
        link.start()
        assert link.wait_connected(30)

        # a console over secure websockets, as a dashboard would connect
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, transport="websockets",
                             protocol=mqtt.MQTTv5)  # fmt: skip
        client.tls_set(ca_certs=str(certs / "ca.crt"), cert_reqs=ssl.CERT_REQUIRED)
        client.username_pw_set("console", "console-pw")
        got: list[bytes] = []
        arrived = threading.Event()

        def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
            got.append(msg.payload)
            arrived.set()

        client.on_connect = lambda c, *_: c.subscribe(Topics(venue_id).status, qos=1)
        client.on_message = on_message
        client.connect("127.0.0.1", ws_port, keepalive=10)
        client.loop_start()
        try:
            assert arrived.wait(30)
            assert got[0] == b"online"
        finally:
            client.disconnect()
            client.loop_stop()
    finally:
        if link is not None:
            link.stop()
        box.stop()
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()
