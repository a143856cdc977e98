package io.tessera.planner.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Requests offered to the simulated server: an open loop (Poisson arrivals at {@code rate}
 * requests/s), a closed loop ({@code concurrency} clients, each sending its next request when the
 * last one finishes), or a trace of given arrivals. Draws are deterministic from {@code seed}.
 */
public record Workload(double rate, int concurrency, int requests, LengthDist prompt, LengthDist output, long seed,
                       List<Spec> trace) {

    /** One request: arrival time (ignored in a closed loop), prompt and output tokens. */
    public record Spec(double arrival, int prompt, int output) {
    }

    public Workload {
        if (trace == null && rate <= 0 && concurrency <= 0) {
            throw new IllegalArgumentException("a workload needs a rate, a concurrency or a trace");
        }
        if (trace == null && requests <= 0) {
            throw new IllegalArgumentException("a workload needs at least one request");
        }
        trace = trace == null ? null : List.copyOf(trace);
    }

    public static Workload poisson(double rate, int requests, LengthDist prompt, LengthDist output, long seed) {
        return new Workload(rate, 0, requests, prompt, output, seed, null);
    }

    public static Workload closed(int concurrency, int requests, LengthDist prompt, LengthDist output, long seed) {
        return new Workload(0, concurrency, requests, prompt, output, seed, null);
    }

    public boolean closedLoop() {
        return trace == null && concurrency > 0;
    }

    public int count() {
        return trace != null ? trace.size() : requests;
    }

    public Workload withRate(double r) {
        return new Workload(r, 0, requests, prompt, output, seed, null);
    }

    public Workload withRequests(int n) {
        return new Workload(rate, concurrency, n, prompt, output, seed, trace);
    }

    public double meanPrompt() {
        return trace != null ? trace.stream().mapToInt(Spec::prompt).average().orElse(0) : prompt.mean();
    }

    public double meanOutput() {
        return trace != null ? trace.stream().mapToInt(Spec::output).average().orElse(0) : output.mean();
    }

    public int maxSequence() {
        return trace != null ? trace.stream().mapToInt(s -> s.prompt() + s.output()).max().orElse(0)
                : prompt.max() + output.max();
    }

    /** The requests, in arrival order (all at time 0 for a closed loop). */
    public List<Spec> generate() {
        if (trace != null) {
            return trace;
        }
        SplittableRandom r = new SplittableRandom(seed);
        List<Spec> out = new ArrayList<>(requests);
        double t = 0;
        for (int i = 0; i < requests; i++) {
            if (!closedLoop() && i > 0) {
                t += -Math.log(1 - r.nextDouble()) / rate;
            }
            out.add(new Spec(closedLoop() ? 0 : t, prompt.sample(r), output.sample(r)));
        }
        return out;
    }

    /**
     * Reads a trace: JSON lines with {@code arrival} (seconds), {@code prompt_tokens},
     * {@code output_tokens}, or CSV lines {@code arrival,prompt_tokens,output_tokens} (a header line
     * is skipped). Arrivals must not decrease.
     */
    public static Workload trace(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Spec> specs = new ArrayList<>();
        int lineNo = 0;
        double last = 0;
        for (String line : Files.readAllLines(file)) {
            lineNo++;
            String s = line.trim();
            if (s.isEmpty() || s.startsWith("#")) {
                continue;
            }
            Spec spec;
            try {
                if (s.startsWith("{")) {
                    JsonNode n = json.readTree(s);
                    spec = new Spec(n.path("arrival").asDouble(Double.NaN), n.path("prompt_tokens").asInt(-1),
                            n.path("output_tokens").asInt(-1));
                } else {
                    String[] f = s.split("[,\\s]+");
                    if (f.length < 3) {
                        throw new IllegalArgumentException("expected arrival,prompt_tokens,output_tokens");
                    }
                    if (lineNo == 1 && !Character.isDigit(f[0].charAt(0))) {
                        continue;
                    }
                    spec = new Spec(Double.parseDouble(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]));
                }
            } catch (RuntimeException | IOException e) {
                throw new IllegalArgumentException(file + ":" + lineNo + ": " + e.getMessage(), e);
            }
            if (Double.isNaN(spec.arrival()) || spec.prompt() < 1 || spec.output() < 1 || spec.arrival() < last) {
                throw new IllegalArgumentException(file + ":" + lineNo + ": need arrival >= previous arrival, prompt_tokens >= 1, output_tokens >= 1");
            }
            last = spec.arrival();
            specs.add(spec);
        }
        if (specs.isEmpty()) {
            throw new IllegalArgumentException(file + ": empty trace");
        }
        return new Workload(0, 0, specs.size(), null, null, 0, specs);
    }

    public String describe() {
        if (trace != null) {
            return "trace of " + trace.size() + " requests";
        }
        String load = closedLoop() ? "concurrency " + concurrency : String.format("%.3g req/s Poisson", rate);
        return load + ", " + requests + " requests, prompt " + prompt + ", output " + output + ", seed " + seed;
    }
}
