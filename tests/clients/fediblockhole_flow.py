"""Pushes tests/clients/blocklist.csv into a running Tidings with FediBlockHole (PyPI,
pinned in run-fediblockhole.sh) through Mastodon's admin API, and checks what arrived.

Usage: fediblockhole_flow.py BASE_URL HOST ADMIN PASSWORD CSV WORKDIR

The instance already has a block of loud.example (suspend, set with the CLI by the
script), so the push both adds blocks (POST) and changes one (PUT).
"""

import subprocess
import sys

import requests

base, host, admin, password, csv_path, work = sys.argv[1:7]
SCOPES = "read admin:read:domain_blocks admin:write:domain_blocks"

app = requests.post(
    f"{base}/api/v1/apps",
    data={
        "client_name": "FediBlockHole",
        "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": SCOPES,
    },
    timeout=10,
)
app.raise_for_status()
app = app.json()
tok = requests.post(
    f"{base}/oauth/token",
    data={
        "grant_type": "password",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "username": admin,
        "password": password,
        "scope": SCOPES,
    },
    timeout=10,
)
tok.raise_for_status()
token = tok.json()["access_token"]

conf = f"{work}/fediblockhole.conf.toml"
with open(conf, "w") as f:
    f.write(
        f"""
blocklist_url_sources = [ {{ url = 'file://{csv_path}', format = 'mastodon_csv' }} ]
blocklist_instance_sources = []
allowlist_url_sources = []
blocklist_instance_destinations = [
  {{ domain = '{host}', token = '{token}', scheme = 'http', max_followed_severity = 'suspend' }},
]
import_fields = ['public_comment', 'reject_media', 'reject_reports', 'obfuscate']
export_fields = ['public_comment']
savedir = '{work}'
"""
    )

venv_bin = sys.executable.rsplit("/", 1)[0]
run = subprocess.run([f"{venv_bin}/fediblock-sync", "-c", conf], capture_output=True, text=True)
print(run.stderr[-4000:], file=sys.stderr)
if run.returncode != 0:
    sys.exit(f"fediblock-sync failed with {run.returncode}")

got = requests.get(
    f"{base}/api/v1/admin/domain_blocks",
    headers={"Authorization": f"Bearer {token}"},
    timeout=10,
)
got.raise_for_status()
blocks = {b["domain"]: b for b in got.json()}
want = {
    "spam.example": ("suspend", True, True, "Spam waves", False),
    "loud.example": ("silence", False, False, "Harassment", True),
    "quiet.example": ("noop", True, False, "", False),
}
have = {
    d: (b["severity"], b["reject_media"], b["reject_reports"], b["public_comment"], b["obfuscate"])
    for d, b in blocks.items()
}
if have != want:
    sys.exit(f"the blocks on the instance differ:\n  want {want}\n  have {have}")

# A second run finds nothing to change.
again = subprocess.run([f"{venv_bin}/fediblock-sync", "-c", conf], capture_output=True, text=True)
if again.returncode != 0:
    print(again.stderr[-4000:], file=sys.stderr)
    sys.exit("the second fediblock-sync failed")
if "Change detected" in again.stderr or "Adding new block" in again.stderr:
    print(again.stderr[-4000:], file=sys.stderr)
    sys.exit("the second run still saw changes to make")
print(f"FediBlockHole pushed {len(want)} blocks; the instance has them")
