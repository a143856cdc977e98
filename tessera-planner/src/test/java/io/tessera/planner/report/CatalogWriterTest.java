package io.tessera.planner.report;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.planner.catalog.AcceleratorCatalog;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class CatalogWriterTest {

    @Test
    void modelsSayWhichAreMixturesAndHowManyExpertsATokenUses() {
        StringWriter s = new StringWriter();
        CatalogWriter.models(new PrintWriter(s));
        String t = s.toString();
        String mixtral = t.lines().filter(l -> l.startsWith("mixtral-8x7b ")).findFirst().orElseThrow();
        assertTrue(mixtral.matches("mixtral-8x7b\\s+46\\.70\\s+12\\.75\\s+32\\s+32\\s+8\\s+4096\\s+2/8\\s+MoE\\s+https://.*"), mixtral);
        String ds = t.lines().filter(l -> l.startsWith("deepseek-v3 ")).findFirst().orElseThrow();
        assertTrue(ds.contains(" 8/256 ") && ds.contains("MoE+MLA"), ds);
        String llama = t.lines().filter(l -> l.startsWith("llama-3.1-8b ")).findFirst().orElseThrow();
        assertTrue(llama.contains(" - ") && llama.contains("dense"), llama);
    }

    @Test
    void acceleratorsWithSources() {
        StringWriter s = new StringWriter();
        CatalogWriter.accelerators(new PrintWriter(s), AcceleratorCatalog.builtin(), true);
        String t = s.toString();
        String h100 = t.lines().filter(l -> l.startsWith("h100-sxm ")).findFirst().orElseThrow();
        assertTrue(h100.matches("h100-sxm\\s+80\\s+3350\\s+989\\.0\\s+1979\\s+1979\\s+NVLink 4\\s+450\\s+50\\.00\\s+3\\.78"), h100);
        assertTrue(t.contains("    inter_node_gbps, devices_per_node: NVIDIA DGX H100 datasheet"), t);
    }
}
