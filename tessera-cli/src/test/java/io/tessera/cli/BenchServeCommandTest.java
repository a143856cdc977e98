package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code tessera bench serve} against a real {@code tessera serve} on a free port. */
class BenchServeCommandTest {

    @TempDir
    Path dir;

    @Test
    void measuresAServer() throws Exception {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs("--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--port", "0", "--threads", "1", "--kv-cache-memory", "8M");
        try (ServeCommand.Running r = serve.start()) {
            Path json = dir.resolve("result.json");
            Path html = dir.resolve("plot.html");
            CliTest.Result res = CliTest.tessera("bench", "serve", "--base-url", r.server().baseUrl(),
                    "--num-prompts", "6", "--max-concurrency", "3", "--input-len", "16", "--output-len", "8",
                    "--goodput", "ttft:60000", "--result-json", json.toString(), "--plot", html.toString());
            assertEquals(0, res.code(), res.out() + res.err());
            assertTrue(res.out().contains("Successful requests:"), res.out());
            JsonNode j = new ObjectMapper().readTree(json.toFile());
            assertEquals(6, j.get("completed").asInt());
            assertEquals(0, j.get("failed").asInt());
            assertEquals(48, j.get("total_output_tokens").asInt());
            assertEquals(96, j.get("total_input_tokens").asInt());
            assertTrue(j.get("ttft").get("p99_ms").asDouble() > 0);
            assertTrue(j.get("request_goodput").asDouble() > 0);
            assertTrue(Files.readString(html).contains("<svg"));
            // chat endpoint, PNG picture
            Path png = dir.resolve("plot.png");
            res = CliTest.tessera("bench", "serve", "--base-url", r.server().baseUrl(), "--endpoint",
                    "/v1/chat/completions", "--num-prompts", "3", "--request-rate", "50", "--input-len", "8",
                    "--output-len", "4", "--plot", png.toString());
            assertEquals(0, res.code(), res.out() + res.err());
            assertTrue(Files.size(png) > 1000);
        }
        // an unreachable server: every request fails, exit code 1
        CliTest.Result down = CliTest.tessera("bench", "serve", "--base-url", "http://127.0.0.1:1", "--model", "x",
                "--num-prompts", "2", "--output-len", "2");
        assertEquals(1, down.code(), down.out() + down.err());
        assertTrue(down.out().contains("Failed requests:                                 2"), down.out());
    }

    @Test
    void sweepsRatesOfAMixAndFindsTheGoodput() throws Exception {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs("--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--port", "0", "--threads", "1", "--kv-cache-memory", "8M");
        try (ServeCommand.Running r = serve.start()) {
            Path json = dir.resolve("sweep.json");
            Path html = dir.resolve("sweep.html");
            CliTest.Result res = CliTest.tessera("bench", "serve", "--base-url", r.server().baseUrl(),
                    "--request-rate", "inf,40", "--warmup-requests", "2", "--arrivals", "gamma", "--burstiness", "0.5", "--num-prompts", "6",
                    "--mix", "0.5:8-16/4,0.5:2/6", "--slo", "ttft:60000,tpot:60000", "--result-json",
                    json.toString(), "--plot", html.toString());
            assertEquals(0, res.code(), res.out() + res.err());
            assertTrue(res.out().contains("Request-rate sweep"), res.out());
            assertTrue(res.out().contains("warm-up: 2 requests, 0 failed"), res.out());
            assertTrue(res.out().contains("Goodput (req/s): inf"), res.out());
            JsonNode j = new ObjectMapper().readTree(json.toFile());
            JsonNode sweep = j.get("sweep");
            assertEquals(2, sweep.size());
            assertEquals(40.0, sweep.get(0).get("request_rate").asDouble(), "ascending rates");
            assertEquals("inf", sweep.get(1).get("request_rate").asText());
            for (JsonNode run : sweep) {
                assertEquals(6, run.get("completed").asInt());
                assertEquals("gamma", run.get("arrivals").asText());
                assertEquals(1.0, run.get("slo_attainment").asDouble());
                assertEquals(2, run.get("classes").size());
                int outputs = 0;
                for (JsonNode c : run.get("classes")) {
                    outputs += c.get("requests").asInt() * (c.get("mix").asText().endsWith("/4") ? 4 : 6);
                }
                assertEquals(outputs, run.get("total_output_tokens").asInt(), "each class its own output length");
            }
            assertEquals("inf", j.get("goodput").get("goodput_rps").asText());
            assertTrue(Files.readString(html).contains("TPOT p99 (ms) vs request rate"));

            // an SLO no request can meet: no rate is good
            res = CliTest.tessera("bench", "serve", "--base-url", r.server().baseUrl(), "--request-rate", "40,80",
                    "--num-prompts", "3", "--input-len", "4", "--output-len", "3", "--slo", "ttft:0.001",
                    "--result-json", json.toString());
            assertEquals(0, res.code(), res.out() + res.err());
            j = new ObjectMapper().readTree(json.toFile());
            assertEquals(0.0, j.get("goodput").get("goodput_rps").asDouble());
            assertEquals(40.0, j.get("goodput").get("first_failing_rate").asDouble());
        }
    }

    @Test
    void badLoadOptionsGetOneLine() {
        String[][] cases = {
            {"--mix", "0.5:1/2", "tessera bench serve: --mix: the fractions add up to 0.5000; they must add up to 1"},
            {"--mix", "1:x/2", "tessera bench serve: --mix entry 1 '1:x/2': the input length 'x' is not a whole "
                + "number of tokens"},
            {"--arrivals", "uniform", "tessera bench serve: --arrivals: 'uniform' is not poisson, gamma or bursty"},
            {"--request-rate", "5,0", "tessera bench serve: --request-rate must be positive or inf, got '0'"},
            {"--request-rate", "fast", "tessera bench serve: --request-rate must be positive or inf, got 'fast'"},
            {"--burstiness", "0", "--arrivals", "gamma",
                "tessera bench serve: --burstiness must be a positive number, got 0.0"},
            {"--slo", "ttft:-5", "tessera bench serve: --goodput: the limit of ttft must be a positive number of "
                + "milliseconds, got -5"},
            {"--warmup-requests", "-1", "tessera bench serve: --warmup-requests must be 0 to 10000, got -1"},
            {"--slo-target", "1.5", "tessera bench serve: --slo-target must be in (0, 1], got 1.5"},
            {"--plot", "x.jpg", "tessera bench serve: --plot takes a .png or .html file, got x.jpg"},
            {"--mix", "1:2/2", "--dataset", "d.txt",
                "tessera bench serve: --mix and --dataset both say where prompts come from; give one"},
        };
        for (String[] c : cases) {
            String[] args = new String[c.length + 3];
            args[0] = "bench";
            args[1] = "serve";
            args[2] = "--model=x";
            System.arraycopy(c, 0, args, 3, c.length - 1);
            args[args.length - 1] = "--base-url=http://127.0.0.1:1";
            CliTest.Result r = CliTest.tessera(args);
            assertEquals(1, r.code(), String.join(" ", c));
            assertEquals(c[c.length - 1], r.err().strip());
        }
    }
}
