"""The shipped dashboards import through Grafana's UI (a data-source picker, the plugins they
need) and their variables follow Grafana's dashboard linter; the checks themselves catch a
dashboard that breaks either."""

import copy
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lint_dashboards  # noqa: E402

DASHBOARDS = os.path.join(HERE, "..", "..", "dashboards")


def boards():
    for name in sorted(os.listdir(DASHBOARDS)):
        if name.endswith(".json"):
            with open(os.path.join(DASHBOARDS, name)) as f:
                yield name, json.load(f)


class ImportTest(unittest.TestCase):
    def test_every_dashboard_is_import_ready(self):
        names = []
        for name, board in boards():
            names.append(name)
            self.assertEqual(lint_dashboards.import_problems(name, board), [])
            for var in board["templating"]["list"]:
                if var["type"] == "query":
                    self.assertEqual(var["allValue"], ".+", (name, var["name"]))
        self.assertIn("pgvigil-overview.json", names)

    def test_the_checks_catch_what_breaks_an_import(self):
        name, board = next(boards())
        cases = {
            "no inputs": lambda b: b.pop("__inputs"),
            "variable ignores the picked source":
                lambda b: b["templating"]["list"][0].update(current={}),
            "undeclared input": lambda b: b["panels"][0]["datasource"].update(uid="${DS_OTHER}"),
            "panel plugin not required": lambda b: b.update(
                __requires=[r for r in b["__requires"] if r["type"] != "panel"]),
        }
        for case, breaks in cases.items():
            with self.subTest(case):
                broken = copy.deepcopy(board)
                breaks(broken)
                self.assertNotEqual(lint_dashboards.import_problems(name, broken), [])


if __name__ == "__main__":
    unittest.main()
