package io.tessera.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A real {@code tessera serve} process on loopback, for tests that kill it; its output goes to a log file. */
final class ServeProcess implements AutoCloseable {

    final Process process;
    final int port;
    final Path log;

    private ServeProcess(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** A port free now (the process binds it right after; a clash fails its start, which the test reports). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code tessera serve ARGS --port P} with these environment variables; waits until /health answers. */
    static ServeProcess start(Path dir, String name, Map<String, String> env, String... args) throws Exception {
        int port = freePort();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:ActiveProcessorCount=1", "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Tessera.class.getName(), "serve"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--port", Integer.toString(port), "--threads", "1"));
        Path log = dir.resolve(name + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        ServeProcess p = new ServeProcess(pb.start(), port, log);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            if (!p.process.isAlive()) {
                throw new IllegalStateException(name + " exited: " + Files.readString(log));
            }
            try {
                HttpResponse<String> h = http.send(HttpRequest.newBuilder(URI.create(p.url() + "/health")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (h.statusCode() == 200) {
                    return p;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                p.close();
                throw new IllegalStateException(name + " did not answer /health within 60 s: " + Files.readString(log));
            }
            Thread.sleep(100);
        }
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    /** A JSON POST to this server. */
    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /**
     * A sample of its {@code /metrics}: {@code name} or {@code name{label="v"}} (the sample's other
     * labels may be anything); NaN when absent or when the server does not answer.
     */
    double metric(String query) {
        String m;
        try {
            m = HTTP.send(HttpRequest.newBuilder(URI.create(url() + "/metrics")).timeout(Duration.ofSeconds(10))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            return Double.NaN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
        int brace = query.indexOf('{');
        String name = brace < 0 ? query : query.substring(0, brace);
        String label = brace < 0 ? "" : query.substring(brace + 1, query.length() - 1);
        java.util.regex.Matcher x = java.util.regex.Pattern.compile("(?m)^" + java.util.regex.Pattern.quote(name)
                + "(?:\\{([^}]*)\\})? ([0-9.eE+-]+)$").matcher(m);
        while (x.find()) {
            if (label.isEmpty() || (x.group(1) != null && x.group(1).contains(label))) {
                return Double.parseDouble(x.group(2));
            }
        }
        return Double.NaN;
    }

    /** SIGKILL, and wait for it to be gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
