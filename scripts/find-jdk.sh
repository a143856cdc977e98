# Sourced by ./tessera and ./run-tests: finds a JDK 25 or newer and exports JAVA_HOME.
# Order: $JAVA_HOME, the `java` on PATH, then the usual install locations.

tessera_java_major() {
  # Prints the feature version (17, 21, 25...) of the JDK at $1, or nothing. The JDK's `release`
  # file answers without starting a JVM; the JVM itself is asked only when that file is missing.
  local v=""
  if [ -f "$1/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$1/release" | head -n 1)
  fi
  if [ -z "$v" ]; then
    v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 \
      | sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p' | head -n 1)
  fi
  echo "$v"
}

tessera_find_jdk() {
  local required=25 candidate home major
  local -a candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for home in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*; do
    [ -d "$home" ] && candidates+=("$home")
  done
  for candidate in "${candidates[@]}"; do
    [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    major=$(tessera_java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge "$required" ]; then
      export JAVA_HOME="$candidate"
      return 0
    fi
  done
  {
    echo "tessera: no JDK $required or newer found."
    echo "  Looked at: JAVA_HOME (${JAVA_HOME:-unset}), the java on PATH, /usr/lib/jvm/*, /usr/java/*, /opt/java/*."
    echo "  Install a JDK $required (for example Temurin $required) or point JAVA_HOME at one."
  } >&2
  return 1
}
