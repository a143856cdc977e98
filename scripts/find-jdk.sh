# Sourced by ./tessera and ./run-tests: finds a JDK 25 or newer and exports JAVA_HOME.
# Order: $JAVA_HOME, the `java` on PATH, then the usual install locations.

tessera_java_major() {
  # Prints the feature version of the given java binary (17, 21, 25...), or nothing.
  "$1" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p' | head -n 1
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
    major=$(tessera_java_major "$candidate/bin/java")
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
