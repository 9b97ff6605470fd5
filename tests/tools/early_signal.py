"""early_signal.py MODE SIGNAL ERRFILE CMD...: run CMD (stderr to ERRFILE)
and signal it at the earliest moment MODE names; print one JSON line:
{"rc": exit status (128+N when killed by signal N), "blocked_ms": exec to
the moment the signal was sent, "exit_ms": signal to exit}.

Modes:
  pending  the signal is raised in the child, blocked, before it execs CMD:
           CMD starts with it pending (as if it had come with the first
           instruction)
  blocked  sent as soon as /proc/PID/status shows CMD blocks it (SigBlk),
           polled without a pause from the exec on
SIGNAL: TERM or INT. Gives up (and kills CMD) after 60 s.
"""
import json
import os
import signal
import subprocess
import sys
import time


def blocks(pid, sig):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigBlk:"):
                    return bool(int(line.split()[1], 16) & (1 << (sig - 1)))
    except OSError:
        pass
    return False


def main():
    mode, name, errfile, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    sig = getattr(signal, "SIG" + name)

    def raise_blocked():
        signal.pthread_sigmask(signal.SIG_BLOCK, [sig])
        os.kill(os.getpid(), sig)

    with open(errfile, "w") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                             preexec_fn=raise_blocked if mode == "pending" else None)
        t_exec = time.monotonic()  # Popen returns once the exec succeeded
        if mode == "blocked":
            while not blocks(p.pid, sig):
                if p.poll() is not None or time.monotonic() - t0 > 60:
                    break
            p.send_signal(sig)
        t_sig = time.monotonic()
        try:
            rc = p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        t_end = time.monotonic()
    print(json.dumps({"rc": rc if rc >= 0 else 128 - rc,
                      "blocked_ms": round((t_sig - t_exec) * 1000, 3),
                      "exit_ms": round((t_end - t_sig) * 1000, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
