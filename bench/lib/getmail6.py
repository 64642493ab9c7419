"""Runs /usr/bin/getmail without its lost-child-exit bug, for bench/peers.ts.

getmail6 before 6.19.09 (Debian bookworm ships 6.18.11) forks a child for every delivery,
Maildir or command, and only then installs a SIGCHLD handler that notifies a condition
variable the parent then waits on. The wait checks no state: when the child exits before
the parent waits (a quick delivery on a busy machine), the notification is lost, getmail
sits out the retriever's timeout (180 s by default) and stops with "operation error
(waiting child pid N timed out)", exit 127. With one other busy process on a two-CPU
machine that stopped 4 of 12 runs of 1000 deliveries.

Upstream fixed it in 6.19.09 (getmail6 issue 245, pull request 246) by waiting through
multiprocessing, which cannot miss the exit either. Here the parent waits for its child with
a plain waitpid instead: the same fork, the same child, no handler and no condition. Not
upstream's code because, measured here, multiprocessing added about a tenth to getmail6's
time for 1000 deliveries, and the benchmark should not charge the Debian package for the
way a later release fixed it. A getmail6 that already has the fix is run as it is.
"""
import os
import runpy
import sys
from argparse import Namespace

from getmailcore import baseclasses
from getmailcore.exceptions import getmailOperationError


def wait_for_child(pid):
    """waitpid cannot miss an exit: a child that is already gone is reaped at once."""
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        raise getmailOperationError('child pid %d killed by signal %d' % (pid, os.WTERMSIG(status)))
    return os.WEXITSTATUS(status)


def forkchild(self, childfun, with_out=True):
    """6.18's forkchild, waiting with waitpid instead of its SIGCHLD handler."""
    self.child = child = Namespace()
    child.stdout = baseclasses.TemporaryFile23()
    child.stderr = baseclasses.TemporaryFile23()
    child.childpid = os.fork()
    if child.childpid == 0:
        # childfun execs the command or ends the child with os._exit; if it ever returned,
        # the child must not go on as a second getmail.
        childfun(child.stdout, child.stderr)
        os._exit(127)
    self.log.trace('spawned child %d\n' % child.childpid)
    child.exitcode = wait_for_child(child.childpid)
    child.stderr.seek(0)
    child.err = child.stderr.read().strip().decode()
    child.stdout.seek(0)
    if with_out:
        child.out = child.stdout.read().strip()
    return child


# Every getmail6 with the race prepares its SIGCHLD handler after the fork in _prepare_child.
if hasattr(baseclasses.ForkingBase, '_prepare_child'):
    baseclasses.ForkingBase.forkchild = forkchild
sys.argv[0] = '/usr/bin/getmail'
runpy.run_path('/usr/bin/getmail', run_name='__main__')
