"""deploy/generate.py: the Kubernetes manifests and the rendered rules come from
alerts/pgvigil.rules.yml and cannot drift from it; the runbook base reaches every alert; the
manifests' config is one the agent accepts. (No cluster here: the manifests are checked for what
they say, not applied.)"""

import os
import re
import subprocess
import sys
import tempfile
import unittest

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
GENERATE = os.path.join(ROOT, "deploy", "generate.py")
BINARY = os.environ.get("PGVIGIL_BINARY", "")


def generate(*args):
    return subprocess.run([sys.executable, GENERATE] + list(args), capture_output=True,
                          text=True, check=True).stdout


def load_rules():
    with open(os.path.join(ROOT, "alerts", "pgvigil.rules.yml")) as f:
        return yaml.safe_load(f)


def alerts(groups):
    return [r for g in groups["groups"] for r in g["rules"] if "alert" in r]


class GenerateTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(ROOT, "deploy", "kubernetes", "pgvigil.yaml")) as f:
            self.docs = {d["kind"]: d for d in yaml.safe_load_all(f)}

    def test_committed_manifests_are_current(self):
        subprocess.run([sys.executable, GENERATE, "kubernetes", "--check"], check=True)

    def test_prometheus_rule_spec_is_the_rules_file(self):
        self.assertEqual(self.docs["PrometheusRule"]["spec"], load_rules())
        self.assertEqual(set(self.docs), {"ConfigMap", "Deployment", "Service", "ServiceMonitor",
                                          "PrometheusRule"})

    def test_runbook_base_reaches_every_alert_and_section(self):
        base = "https://wiki.example/ops/pgvigil-runbooks"
        with open(os.path.join(ROOT, "docs", "runbooks.md")) as f:
            sections = {h.lower() for h in re.findall(r"^## (\w+)", f.read(), re.M)}
        manifests = yaml.safe_load_all(generate("kubernetes", "--runbook-base=" + base,
                                                "--stdout"))
        rule = next(d for d in manifests if d["kind"] == "PrometheusRule")
        for rendered in (yaml.safe_load(generate("rules", "--runbook-base=" + base + "/")),
                         rule["spec"]):
            rules = alerts(rendered)
            self.assertEqual(len(rules), len(alerts(load_rules())))
            for rule in rules:
                url = rule["annotations"]["runbook_url"]
                self.assertTrue(url.startswith(base + "#"), url)
                self.assertIn(url.split("#")[1], sections, rule["alert"])
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            f.write(generate("rules", "--runbook-base=" + base))
            f.flush()
            check = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True,
                                   text=True)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        # Nothing else in the rules changes.
        plain = alerts(load_rules())
        for before, after in zip(plain, alerts(yaml.safe_load(generate("rules",
                                                                       "--runbook-base=" + base)))):
            before["annotations"].pop("runbook_url")
            after["annotations"].pop("runbook_url")
            self.assertEqual(before, after)

    def test_deployment_runs_unprivileged_and_probes_the_agent(self):
        deployment = self.docs["Deployment"]["spec"]["template"]["spec"]
        container = deployment["containers"][0]
        self.assertTrue(container["securityContext"]["readOnlyRootFilesystem"])
        self.assertFalse(container["securityContext"]["allowPrivilegeEscalation"])
        self.assertTrue(deployment["securityContext"]["runAsNonRoot"])
        self.assertEqual(container["livenessProbe"]["httpGet"]["path"], "/health/live")
        self.assertEqual(container["readinessProbe"]["httpGet"]["path"], "/health/ready")
        service = self.docs["Service"]["spec"]
        monitor = self.docs["ServiceMonitor"]["spec"]
        self.assertEqual(monitor["endpoints"][0]["port"], service["ports"][0]["name"])
        # PgvigilDown expects job="pgvigil": the Prometheus Operator names the job after the
        # Service.
        self.assertEqual(self.docs["Service"]["metadata"]["name"], "pgvigil")

    @unittest.skipUnless(BINARY, "PGVIGIL_BINARY is not set")
    def test_configmap_config_is_accepted_by_the_agent(self):
        config = self.docs["ConfigMap"]["data"]["pgvigil.yaml"]
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(config)
            f.flush()
            env = dict(os.environ, PGVIGIL_PRIMARY_DSN="postgresql://monitor:k8s-secret@db/postgres")
            r = subprocess.run([BINARY, "--config.file=" + f.name, "--check-config"],
                               capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("db", r.stdout)
        self.assertNotIn("k8s-secret", r.stdout)
        args = self.docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
        self.assertIn("--config.file=/etc/pgvigil/pgvigil.yaml", args)


if __name__ == "__main__":
    unittest.main()
