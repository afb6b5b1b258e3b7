#!/usr/bin/env python3
"""SQL workloads for the tests, the demo and the benchmarks.

  workload.py statements COUNT   prints COUNT statements with distinct pg_stat_statements
                                 queryids (array length x number of columns)"""

import sys


def distinct_statements(count):
    statements = []
    width = 1
    while len(statements) < count:
        for columns in range(1, width + 1):
            statements.append("SELECT ARRAY[%s]%s;" % (",".join(["1"] * width), ", 1" * columns))
            if len(statements) == count:
                break
        width += 1
    return "\n".join(statements) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "statements":
        sys.exit(__doc__)
    sys.stdout.write(distinct_statements(int(sys.argv[2])))
