#!/usr/bin/env python3
"""Run the system tests (tests/system/test_*.py) with the standard library.

One line per test: "ok|FAIL|ERROR|skip  name  seconds"; details of each
failure (with the log tail of every live MTA instance) follow its line; the
last line is "system: N passed, N failed[, N skipped]".  Exit 1 on failure.
Usage: run.py [-k PATTERN]... [-x] [MODULE...]   (env MTA_BUILD=build dir)
"""
import argparse
import os
import signal
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mtatest  # noqa: E402

PER_TEST_TIMEOUT = 150 * mtatest.SLOW


class TestTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise TestTimeout("test exceeded %d s" % PER_TEST_TIMEOUT)


class LineResult(unittest.TestResult):
    """Prints one line per test as soon as it ends."""

    def __init__(self, failfast=False):
        super().__init__()
        self.failfast = failfast
        self.npass = self.nfail = self.nskip = 0
        self.status = self.detail = None

    def startTest(self, test):
        super().startTest(test)
        self.t0 = time.monotonic()
        self.status, self.detail = "ok", ""
        signal.alarm(PER_TEST_TIMEOUT)

    def _bad(self, status, test, err):
        self.status = status
        text = (self._exc_info_to_string(err, test) if test is not None
                else "".join(traceback.format_exception(*err)))
        logs = mtatest.live_logs(skip=text)
        self.detail += text + (logs + "\n" if logs else "")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._bad("FAIL", test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._bad("ERROR", test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._bad("FAIL", subtest, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.status, self.detail = "skip", "    (%s)\n" % reason

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.status = "FAIL"

    def stopTest(self, test):
        signal.alarm(0)
        super().stopTest(test)
        self._report(test.id(), time.monotonic() - self.t0)

    def _report(self, name, secs):
        print("%-5s %-70s %6.2fs" % (self.status, name, secs), flush=True)
        if self.status == "skip":
            self.nskip += 1
            print(self.detail, end="", flush=True)
        elif self.status == "ok":
            self.npass += 1
        else:
            self.nfail += 1
            print(self.detail, end="", flush=True)
            if self.failfast:
                self.stop()

    def class_error(self, name, err):
        """A setUpClass/module failure counts as one failed test."""
        self.status, self.detail = "ERROR", ""
        self._bad("ERROR", None, err)
        self._report(name, 0.0)


class Suite(unittest.TestSuite):
    """Report setUpClass errors through LineResult instead of a fake test."""

    def _createClassOrModuleLevelException(self, result, exc, method_name, parent,
                                           info=None):
        if isinstance(result, LineResult):
            err = (type(exc), exc, exc.__traceback__)
            result.class_error("%s (%s)" % (method_name, parent), err)
        else:
            super()._createClassOrModuleLevelException(result, exc, method_name, parent,
                                                       info)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", action="append", default=[], metavar="PATTERN",
                    help="only tests whose name contains PATTERN (or fnmatch glob)")
    ap.add_argument("-x", action="store_true", help="stop at the first failure")
    ap.add_argument("modules", nargs="*", help="test modules, e.g. test_hostile")
    args = ap.parse_args()

    loader = unittest.TestLoader()
    loader.suiteClass = Suite
    if args.k:
        loader.testNamePatterns = [p if "*" in p else "*%s*" % p for p in args.k]
    if args.modules:
        names = [os.path.basename(m).removesuffix(".py") for m in args.modules]
        suite = Suite(loader.loadTestsFromName(n) for n in names)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)

    signal.signal(signal.SIGALRM, on_alarm)
    print("system tests: build %s%s" % (mtatest.BUILD,
                                        " (sanitizers: loads scaled down)"
                                        if mtatest.SANITIZE else ""), flush=True)
    t0 = time.monotonic()
    result = LineResult(failfast=args.x)
    try:
        suite.run(result)
    finally:
        mtatest.cleanup_all()
    line = "system: %d passed, %d failed" % (result.npass, result.nfail)
    if result.nskip:
        line += ", %d skipped" % result.nskip
    print("system tests took %.1fs" % (time.monotonic() - t0))
    print(line, flush=True)
    return 1 if result.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
