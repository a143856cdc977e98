package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class PlanCommandTest {

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = CliErrors.install(new CommandLine(new Tessera()));
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new String[] {String.valueOf(code), out.toString(), err.toString()};
    }

    @Test
    void memoryJsonHasTheAgreedFields() throws Exception {
        String[] r = run("plan", "memory", "--model", "llama-3.1-8b", "--precision", "int8", "--tp", "2", "--json");
        assertEquals("0", r[0], r[2]);
        JsonNode j = new ObjectMapper().readTree(r[1]);
        assertEquals(8_030_261_248.0, j.get("weights_bytes").asDouble(), 0);
        assertEquals(131_072, j.get("kv_cache_bytes_per_token").asDouble(), 0);
        assertEquals(1, j.get("per_device").size());
        // half of everything but the replicated norms (32 layers x 8192 + 4096 values)
        double expected = (8_030_261_248.0 - 32 * 8192 - 4096) / 2 + 32 * 8192 + 4096;
        assertEquals(expected, j.get("per_device").get(0).get("weights_bytes").asDouble(), 0);
        assertEquals(65_536, j.get("per_device").get(0).get("kv_cache_bytes_per_token").asDouble(), 0);
    }

    /** Calibration on a one-layer synthetic model: probes, timed rounds said on stderr, a fit saved as a catalog. */
    @Test
    void calibrateTimesStepsSaysItsRoundsAndSavesTheFit(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path model = dir.resolve("tiny.gguf");
        String[] synth = run("synth", "--shape", "tiny-gqa", "--layers", "1", "--vocab-size", "300", "--type", "Q8_0",
                "-o", model.toString());
        assertEquals("0", synth[0], synth[2]);
        // its context of 1024 is shorter than the fit's longest step: refused before minutes of timing
        String[] short_ = run("plan", "calibrate", "--model-file", model.toString(), "--repeats", "1", "--threads", "1",
                "--out", dir.resolve("never.json").toString());
        assertEquals("1", short_[0]);
        assertTrue(short_[2].contains("needs a context of 2048 tokens and the model has 1024"), short_[2]);
        assertTrue(!short_[2].contains("round"), short_[2]);
        model = dir.resolve("qwen3.gguf");
        synth = run("synth", "--shape", "qwen3-0.6b", "--layers", "1", "--vocab-size", "300", "--type", "Q8_0",
                "-o", model.toString());
        assertEquals("0", synth[0], synth[2]);
        java.nio.file.Path out = dir.resolve("cal.json");
        String[] r = run("plan", "calibrate", "--model-file", model.toString(), "--repeats", "2", "--threads", "1",
                "--out", out.toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(r[2].contains("timed 8 steps, round 1 of 2") && r[2].contains("round 2 of 2"), r[2]);
        assertTrue(r[1].contains("fitted: step overhead") && r[1].contains("saved " + out), r[1]);
        JsonNode saved = new ObjectMapper().readTree(out.toFile());
        assertEquals(8, saved.path("calibration").path("fit").size(), saved.toString());
    }

    /** Mixtral-8x7B over EP 8: one whole expert per device (by hand in ExpertParallelTest), 8 attention groups. */
    @Test
    void memorySplitsExpertsOverEpRanks() throws Exception {
        String[] r = run("plan", "memory", "--model", "mixtral-8x7b", "--ep", "8", "--json");
        assertEquals("0", r[0], r[2]);
        JsonNode j = new ObjectMapper().readTree(r[1]);
        assertEquals(8, j.get("devices").asInt());
        assertEquals(8, j.get("attention_groups").asInt());
        JsonNode d = j.get("per_device").get(0);
        assertEquals(1, d.get("routed_experts_per_layer").asInt());
        assertEquals(2.0 * 32 * 3 * 4096 * 14336, d.get("expert_weights_bytes").asDouble(), 0);
        assertEquals(2.0 * 7_242_780_672L, d.get("weights_bytes").asDouble(), 0);
        String[] t = run("plan", "memory", "--model", "mixtral-8x7b", "--tp", "2", "--ep", "8", "--gpu", "h100");
        assertEquals("0", t[0], t[2]);
        assertTrue(t[1].contains("TP 2 x PP 1, EP 8 (4 attention groups) = 8 devices"), t[1]);
        assertTrue(t[1].contains("8 routed per MoE layer (2 per token), whole on each device: 1 per device"), t[1]);
        String[] bad = run("plan", "memory", "--model", "mixtral-8x7b", "--tp", "4", "--ep", "2");
        assertEquals("1", bad[0]);
        assertTrue(bad[2].contains("ep 2 must be 1 or a multiple of tp 4"), bad[2]);
    }

    @Test
    void memoryRefusesWhatDoesNotFit() {
        String[] r = run("plan", "memory", "--model", "llama-3.1-405b", "--precision", "bf16", "--tp", "8", "--gpu", "h100");
        assertEquals("2", r[0]);
        assertTrue(r[1].contains("does NOT fit on h100-sxm"), r[1]);
        assertTrue(r[1].contains("GB short per device"), r[1]);
    }

    @Test
    void searchRanksAndExplainsLosers() throws Exception {
        String[] r = run("plan", "--model", "qwen2.5-7b", "--gpu", "a10", "--max-gpus", "2", "--precisions", "fp32,int8",
                "--mode", "colocated", "--input-len", "512", "--output-len", "64", "--requests", "40", "--json");
        assertEquals("0", r[0], r[2]);
        JsonNode j = new ObjectMapper().readTree(r[1]);
        assertTrue(j.get("ranked").size() > 0);
        assertTrue(j.get("ranked").get(0).get("goodput_per_device").asDouble() > 0);
        boolean fitReason = false;
        for (JsonNode l : j.get("losers")) {
            fitReason |= l.get("reason").asText().startsWith("does not fit") || l.get("reason").asText().startsWith("invalid");
        }
        assertTrue(fitReason, r[1]);
    }

    @Test
    void simulateReportsPercentiles() throws Exception {
        String[] r = run("plan", "simulate", "--model", "llama-3.1-8b", "--gpu", "h100", "--rate", "2", "--requests", "50",
                "--prompt-len", "256", "--output-len", "32", "--json");
        assertEquals("0", r[0], r[2]);
        JsonNode j = new ObjectMapper().readTree(r[1]);
        assertEquals(50, j.get("completed").asInt());
        assertTrue(j.get("ttft_s").get("p99").asDouble() >= j.get("ttft_s").get("p50").asDouble());
    }

    /** An expert-parallel deployment simulates as one instance of pp x ep devices. */
    @Test
    void simulateExpertParallel() throws Exception {
        String[] r = run("plan", "simulate", "--model", "mixtral-8x7b", "--gpu", "h100", "--tp", "2", "--ep", "8", "--rate", "4",
                "--requests", "30", "--input-len", "256", "--output-len", "16", "--json");
        assertEquals("0", r[0], r[2]);
        JsonNode j = new ObjectMapper().readTree(r[1]);
        assertEquals("bf16 TP2 PP1 EP8", j.get("deployment").asText());
        assertEquals(8, j.get("devices").asInt());
        assertEquals(30, j.get("completed").asInt());
        String[] bad = run("plan", "simulate", "--model", "mixtral-8x7b", "--ep", "16", "--rate", "1");
        assertEquals("1", bad[0]);
        assertTrue(bad[2].contains("ep 16 does not divide 8 experts"), bad[2]);
    }

    @Test
    void rankByCostMergesAcceleratorsCheapestFirst() throws Exception {
        String[] r = run("plan", "--model", "llama-3.1-8b", "--gpu", "a10,h100", "--rank", "cost", "--max-gpus", "2",
                "--precisions", "bf16", "--mode", "colocated", "--prompt-len", "512", "--output-len", "64", "--requests", "40",
                "--json");
        assertEquals("0", r[0], r[2]);
        JsonNode ranked = new ObjectMapper().readTree(r[1]).get("ranked");
        assertTrue(ranked.size() > 0, r[1]);
        double previous = 0;
        for (JsonNode x : ranked) {
            double perMillion = x.get("dollars_per_million_requests").asDouble();
            assertTrue(perMillion >= previous, r[1]);
            previous = perMillion;
            double hourly = x.get("devices").asInt() * x.get("price_per_hour").asDouble();
            assertEquals(hourly, x.get("dollars_per_hour").asDouble(), 1e-9);
            assertEquals(hourly / 3600 / x.get("goodput").asDouble() * 1e6, perMillion, 1e-6 * perMillion);
        }
    }

    @Test
    void rankByCostNeedsPrices() {
        String[] r = run("plan", "--model", "llama-3.1-8b", "--gpu", "h20", "--rank", "cost");
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("no price for h20"), r[2]);
    }
}
