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

# Installs Debian packages ($@) without starting the servers they ship: a policy-rc.d answering 101
# ("action forbidden") makes invoke-rc.d and deb-systemd-invoke start nothing (container images
# usually have one already; an existing one is never touched), and any process named in
# $SPOOL_APT_DAEMONS that the install started anyway (a machine whose own policy allows it) is
# stopped and its systemd unit disabled; one running before stays. Refreshes the package lists only
# if the install fails (a version gone from the mirror). Needs root or password-less sudo.
spool_apt_install_no_services() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "spool: run as root: apt-get install --no-install-recommends $*" >&2
      return 1
    fi
  fi
  # In a subshell so that its trap, which removes the policy-rc.d we put in place, stays local.
  (
    set -u
    log=$(mktemp) policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
      trap '$sudo rm -f "$policy"' EXIT
      printf '#!/bin/sh\n# Put here by Spool bin/test while it installs packages: start no services.\nexit 101\n' \
        | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy"
    fi
    declare -A running_before
    for daemon in ${SPOOL_APT_DAEMONS:-}; do
      running_before[$daemon]=" $(pgrep -x "$daemon" 2>/dev/null | tr '\n' ' ') "
    done
    apt_install() {
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "$@" >>"$log" 2>&1
    }
    if ! apt_install "$@" && ! { $sudo apt-get update -q >>"$log" 2>&1 && apt_install "$@"; }; then
      cat "$log" >&2
      echo "spool: could not install $* (above: apt-get's output). Install them by hand: apt-get install --no-install-recommends $*" >&2
      exit 1
    fi
    for daemon in ${SPOOL_APT_DAEMONS:-}; do
      if [ -d /run/systemd/system ]; then
        $sudo systemctl disable --now "$daemon.service" >/dev/null 2>&1 || true
      fi
      for pid in $(pgrep -x "$daemon" 2>/dev/null || true); do
        case "${running_before[$daemon]}" in *" $pid "*) ;; *)
          echo "spool: stopping the $daemon server (pid $pid) that installing its package started" >&2
          $sudo kill "$pid" || true ;;
        esac
      done
    done
    rm -f "$log"
  )
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
  echo "spool: installing ${missing[*]} from Debian's packages (promtool and yamllint for the deploy tests)..." >&2
  # The prometheus package ships a server its maintainer script would start: we want only promtool.
  SPOOL_APT_DAEMONS=prometheus spool_apt_install_no_services "${missing[@]}" || return 1
  command -v promtool >/dev/null 2>&1 && command -v yamllint >/dev/null 2>&1 || {
    echo "spool: promtool or yamllint still missing after installing ${missing[*]}: $hint" >&2
    return 1
  }
  echo "spool: installed $(promtool --version 2>&1 | head -n 1 | cut -d' ' -f1-3), $(yamllint --version 2>&1)" >&2
}

# Installs Debian's pgbouncer when it is missing, for launcher's PgBouncerTest, which starts a
# PgBouncer of its own on a free port with its own ini file. The package's service is never started
# (nor left running if the install started it): nothing listens on 6432 because of us.
spool_pgbouncer() {
  # Debian puts it in /usr/sbin, which only root's PATH has.
  if [ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null 2>&1; then return 0; fi
  command -v apt-get >/dev/null 2>&1 || {
    echo "spool: PgBouncerTest needs pgbouncer (Debian: apt-get install pgbouncer); this is not a Debian-like system, so install it yourself" >&2
    return 1
  }
  echo "spool: installing Debian's pgbouncer for PgBouncerTest (its service stays stopped)" >&2
  SPOOL_APT_DAEMONS=pgbouncer spool_apt_install_no_services pgbouncer || return 1
  echo "spool: installed $(/usr/sbin/pgbouncer --version 2>&1 | head -n 1)" >&2
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
