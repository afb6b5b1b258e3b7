"""scripts/demo.sh tells the truth about what it starts: a port someone else holds stops it with
a message naming the port and the variable that moves it, before it builds or starts anything."""

import os
import socket
import subprocess
import unittest

import harness


class DemoTest(unittest.TestCase):
    def test_a_taken_port_stops_the_demo_loudly(self):
        harness.require_environment(self)
        demo = os.path.join(harness.SOURCE_DIR, "scripts", "demo.sh")
        for variable in ("PGVIGIL_DEMO_PORT", "PGVIGIL_DEMO_PROMETHEUS_PORT"):
            with self.subTest(variable), socket.socket() as holder:
                holder.bind(("127.0.0.1", 0))
                holder.listen()
                taken = holder.getsockname()[1]
                env = dict(os.environ, PGVIGIL_DEMO_PORT=str(harness.free_port()))
                env[variable] = str(taken)
                r = subprocess.run([demo, "--with-prometheus"], env=env, capture_output=True,
                                   text=True, timeout=60)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("port %d is in use" % taken, r.stderr)
                self.assertIn(variable, r.stderr)
                self.assertNotIn("pgvigil is watching", r.stdout)


if __name__ == "__main__":
    unittest.main()
