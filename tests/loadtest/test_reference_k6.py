"""The reference's own k6 scripts (its ``load/``) pass every check against our service.

Needs the reference's git mirror and k6 (``make venv`` installs it); skipped otherwise.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from loadtest.k6 import k6_binary
from loadtest.reference_k6 import SCRIPTS, UUID_BUG, UUID_FIX, extract_scripts, mirror_available, run_all, run_script
from loadtest.service import port_in_use, scratch_service
from tests.sequencer_project.ops_helpers import child_database_url

pytestmark = pytest.mark.skipif(
    not mirror_available(), reason="no reference mirror (set REFERENCE_MIRROR to a clone of stateset-sequencer)"
)


def _k6_or_skip() -> None:
    try:
        k6_binary()
    except SystemExit:
        pytest.skip("k6 is not installed (make venv installs it)")


def _port() -> int:
    for port in range(8095, 8100):
        if not port_in_use(port):
            return port
    raise RuntimeError("no free port in 8095-8099")


def test_the_four_scripts_are_extracted_with_only_the_uuid_patch(tmp_path: Path) -> None:
    paths = extract_scripts(tmp_path)
    assert [p.name for p in paths] == list(SCRIPTS)
    texts = {p.name: p.read_text() for p in paths}
    for name, text in texts.items():
        assert UUID_BUG not in text
        assert text.count(UUID_FIX) == (0 if name == "sequencer_query.js" else 1)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_check_of_every_reference_script_passes(tmp_path: Path) -> None:
    _k6_or_skip()
    with scratch_service(child_database_url(), _port()) as service:
        results = run_all(
            url=service.url,
            api_key=service.api_key,
            tenant_id=str(service.tenant_id),
            store_id=str(uuid.uuid4()),
            vus=2,
            duration="2s",
        )
        # The runner can fail: the unpatched ingest script sends ids like "----" (422 here too).
        unpatched = tmp_path / "unpatched_ingest.js"
        unpatched.write_text(extract_scripts(tmp_path)[0].read_text().replace(UUID_FIX, UUID_BUG))
        env = {
            "SEQUENCER_BASE_URL": service.url,
            "API_KEY": service.api_key,
            "TENANT_ID": str(service.tenant_id),
            "STORE_ID": str(uuid.uuid4()),
            "PATH": os.environ["PATH"],
        }
        broken = run_script(unpatched, env, vus=1, duration="1s", workdir=tmp_path)
    for result in results:
        assert result.ok, f"{result.name}: {result.passes} passed, {result.fails} failed\n{result.output_tail}"
    assert not broken.ok
    assert broken.fails > 0
