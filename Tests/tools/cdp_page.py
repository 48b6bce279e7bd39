#!/usr/bin/env python3
"""Opens a page in headless Chromium and answers commands about it, for the
end-to-end tests of the status page. Talks the DevTools protocol over
--remote-debugging-pipe (file descriptors 3 and 4), so it needs nothing but
the standard library.

    cdp_page.py URL [WIDTH HEIGHT]

Commands, one a line on standard input; each answer is one line:
    wait SECONDS TEXT   "ok", or "timeout: <the page's text>" if TEXT is not
                        in the page's visible text within SECONDS
    text                the page's visible text, newlines as " | "
    shot PATH           saves a PNG screenshot; "ok"
    quit
"""
import base64, json, os, shutil, subprocess, sys, tempfile, time

def main():
    url = sys.argv[1]
    width, height = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else ("412", "915")
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not browser:
        print("no chromium", flush=True)
        return 2
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    profile = tempfile.mkdtemp(prefix="rarangi-chromium-")

    def wire():
        os.dup2(to_browser_r, 3)
        os.dup2(from_browser_w, 4)

    proc = subprocess.Popen(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-dev-shm-usage", "--remote-debugging-pipe", "--user-data-dir=" + profile,
         "--window-size=%s,%s" % (width, height), "about:blank"],
        pass_fds=(3, 4), preexec_fn=wire, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_browser_r)
    os.close(from_browser_w)
    out = os.fdopen(to_browser_w, "wb", buffering=0)
    inp = os.fdopen(from_browser_r, "rb", buffering=0)
    buf = b""
    next_id = [0]

    def call(method, params=None, session=None, timeout=30):
        nonlocal buf
        next_id[0] += 1
        msg = {"id": next_id[0], "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        out.write(json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == next_id[0]:
                    if "error" in reply:
                        raise RuntimeError("%s: %s" % (method, reply["error"]))
                    return reply.get("result", {})
            chunk = inp.read(65536)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            buf += chunk
        raise RuntimeError(method + ": no answer")

    try:
        target = call("Target.createTarget", {"url": url})["targetId"]
        session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        call("Page.enable", session=session)

        def text():
            r = call("Runtime.evaluate", {"expression": "document.body ? document.body.innerText : ''",
                                          "returnByValue": True}, session=session)
            return r.get("result", {}).get("value", "")

        print("ready", flush=True)
        for line in sys.stdin:
            cmd = line.rstrip("\n").split(" ", 2)
            if cmd[0] == "wait":
                deadline = time.time() + float(cmd[1])
                seen = ""
                while time.time() < deadline:
                    seen = text()
                    if cmd[2] in seen:
                        break
                    time.sleep(0.1)
                print("ok" if cmd[2] in seen else "timeout: " + seen.replace("\n", " | "), flush=True)
            elif cmd[0] == "text":
                print(text().replace("\n", " | "), flush=True)
            elif cmd[0] == "shot":
                data = call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
                with open(cmd[1], "wb") as f:
                    f.write(base64.b64decode(data))
                print("ok", flush=True)
            elif cmd[0] == "quit":
                break
    finally:
        try:
            call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return 0

if __name__ == "__main__":
    sys.exit(main())
