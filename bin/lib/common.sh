# Shared by bin/spool, bin/test, bin/quickstart and .ci/run. Source it; it defines functions only.

SPOOL_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Prints the home of a JDK >= 21: $JAVA_HOME if it is one, else the newest under /usr/lib/jvm,
# whatever the default `java` is.
spool_find_jdk() {
  local candidate version best="" best_version=0
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/* /opt/java/openjdk; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/javac" ] || continue
    version=$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 \
      | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')
    [ -n "$version" ] && [ "$version" -ge 21 ] || continue
    if [ "$candidate" = "${JAVA_HOME:-}" ]; then echo "$candidate"; return 0; fi
    if [ "$version" -gt "$best_version" ]; then best=$candidate; best_version=$version; fi
  done
  if [ -z "$best" ]; then
    echo "spool: no JDK 21+ found (checked \$JAVA_HOME and /usr/lib/jvm). Install one, e.g. 'apt-get install openjdk-21-jdk' or Temurin 21+, or set JAVA_HOME." >&2
    return 1
  fi
  echo "$best"
}

# Starts the machine's own Redis and PostgreSQL if they are not answering on their default ports.
# Only for local development and CI: production points SPOOL_PG_URL / SPOOL_REDIS_URL elsewhere.
spool_services_up() {
  if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    command -v redis-server >/dev/null || { echo "spool: Redis is not running and redis-server is not installed (apt-get install redis-server)" >&2; return 1; }
    echo "spool: starting the local Redis on 127.0.0.1:6379" >&2
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
  fi
  if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    command -v pg_ctlcluster >/dev/null || { echo "spool: PostgreSQL is not running and not installed (apt-get install postgresql)" >&2; return 1; }
    echo "spool: starting the local PostgreSQL on 127.0.0.1:5432" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  fi
  local i
  for i in $(seq 1 60); do
    if (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  echo "spool: Redis (127.0.0.1:6379) or PostgreSQL (127.0.0.1:5432) did not come up within 30 s" >&2
  return 1
}

# Installs the command-line tools the deploy module's tests run, when they are missing: promtool
# (Debian's prometheus package; we use only its promtool) and yamllint. Silent when both are there.
# Needs root (or password-less sudo) and Debian's package registry.
spool_deploy_tools() {
  local missing=()
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v yamllint >/dev/null 2>&1 || missing+=(yamllint)
  [ ${#missing[@]} -eq 0 ] && return 0
  local hint="apt-get install --no-install-recommends ${missing[*]}"
  command -v apt-get >/dev/null 2>&1 || {
    echo "spool: the deploy tests need promtool and yamllint; this is not a Debian-like system, so install them yourself (Debian: $hint)" >&2
    return 1
  }
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "spool: the deploy tests need promtool and yamllint; run as root: $hint" >&2
      return 1
    fi
  fi
  echo "spool: installing ${missing[*]} from Debian's packages (promtool and yamllint for the deploy tests)..." >&2
  # In a subshell so that its trap, which removes a policy-rc.d we put in place, stays local.
  (
    set -u
    log=$(mktemp) policy=/usr/sbin/policy-rc.d
    # The prometheus package ships a server and its maintainer script would start it. policy-rc.d
    # answering 101 ("action forbidden") makes invoke-rc.d and deb-systemd-invoke start nothing.
    # Container images usually have one already; we never touch an existing one.
    if [ ! -e "$policy" ]; then
      trap '$sudo rm -f "$policy"' EXIT
      printf '#!/bin/sh\n# Put here by Spool bin/test while it installs packages: start no services.\nexit 101\n' \
        | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy"
    fi
    running_before=" $(pgrep -x prometheus 2>/dev/null | tr '\n' ' ') "
    apt_install() {
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >>"$log" 2>&1
    }
    # The package lists may be stale (a package version gone from the mirror): refresh only then.
    if ! apt_install && ! { $sudo apt-get update -q >>"$log" 2>&1 && apt_install; }; then
      cat "$log" >&2
      echo "spool: could not install ${missing[*]} (above: apt-get's output). Install them by hand: $hint" >&2
      exit 1
    fi
    # Belt and braces for a machine whose own policy-rc.d allows starting services: stop and
    # disable the server we have just installed, and only that (a Prometheus running before stays).
    case " ${missing[*]} " in *" prometheus "*)
      if [ -d /run/systemd/system ]; then
        $sudo systemctl disable --now prometheus.service >/dev/null 2>&1 || true
      fi
      for pid in $(pgrep -x prometheus 2>/dev/null || true); do
        case "$running_before" in *" $pid "*) ;; *)
          echo "spool: stopping the Prometheus server (pid $pid) that installing the package started" >&2
          $sudo kill "$pid" || true ;;
        esac
      done ;;
    esac
    rm -f "$log"
  ) || return 1
  command -v promtool >/dev/null 2>&1 && command -v yamllint >/dev/null 2>&1 || {
    echo "spool: promtool or yamllint still missing after installing ${missing[*]}: $hint" >&2
    return 1
  }
  echo "spool: installed $(promtool --version 2>&1 | head -n 1 | cut -d' ' -f1-3), $(yamllint --version 2>&1)" >&2
}

# Installs what the dashboard's browser test (launcher's DashboardTest) needs: Debian's Chromium at
# /usr/bin/chromium, and playwright-core from the lockfile in launcher/src/test/browser. Playwright
# drives the system Chromium; it never downloads a browser of its own (that fails here anyway).
spool_browser_tools() {
  local dir="$SPOOL_HOME/launcher/src/test/browser" sudo=""
  if [ ! -x /usr/bin/chromium ]; then
    command -v apt-get >/dev/null || { echo "spool: /usr/bin/chromium is missing and there is no apt-get to install it with" >&2; return 1; }
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "spool: installing Debian's chromium for the dashboard test" >&2
    # The machine's package lists are usually recent enough; refresh them only if the install fails.
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; then
      echo "spool: refreshing the package lists (apt-get update) and trying again" >&2
      $sudo apt-get update -q >/dev/null \
        && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null \
        || { echo "spool: could not install chromium (apt-get install chromium)" >&2; return 1; }
    fi
  fi
  # npm ci replaces node_modules whole, so the folder's time says when the lockfile was installed.
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    command -v npm >/dev/null || { echo "spool: npm is missing; install Node.js 20+ with npm" >&2; return 1; }
    echo "spool: installing the dashboard test's node modules (npm ci in launcher/src/test/browser)" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
    touch "$dir/node_modules"
  fi
}

# Installs and builds what the SDK tests (launcher's SdkWorkersTest) need: Debian's python3 with
# httpx and pytest (the Python SDK's one dependency and its test runner), and the TypeScript SDK's
# dev dependencies from its lockfile, then its build (dist/, which the tests and examples run).
spool_sdk_tools() {
  local ts="$SPOOL_HOME/sdk/typescript" sudo=""
  if ! /usr/bin/python3 -c 'import httpx, pytest' >/dev/null 2>&1; then
    command -v apt-get >/dev/null || { echo "spool: /usr/bin/python3 with httpx and pytest is missing and there is no apt-get to install it" >&2; return 1; }
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "spool: installing Debian's python3-httpx and python3-pytest for the Python SDK's tests" >&2
    local pkgs="python3 python3-httpx python3-pytest python3-pytest-asyncio"
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs >/dev/null; then
      echo "spool: refreshing the package lists (apt-get update) and trying again" >&2
      $sudo apt-get update -q >/dev/null \
        && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs >/dev/null \
        || { echo "spool: could not install $pkgs" >&2; return 1; }
    fi
  fi
  command -v npm >/dev/null || { echo "spool: npm is missing; install Node.js 20+ with npm" >&2; return 1; }
  if [ ! -d "$ts/node_modules" ] || [ "$ts/package-lock.json" -nt "$ts/node_modules" ]; then
    echo "spool: installing the TypeScript SDK's dev dependencies (npm ci in sdk/typescript)" >&2
    (cd "$ts" && npm ci --no-audit --no-fund --loglevel=error) || return 1
    touch "$ts/node_modules"
  fi
  (cd "$ts" && npm run --silent build) || { echo "spool: building the TypeScript SDK failed" >&2; return 1; }
}
