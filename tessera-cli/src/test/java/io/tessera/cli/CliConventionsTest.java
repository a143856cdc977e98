package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.synth.ModelShape;
import io.tessera.planner.model.ModelCatalog;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/** What every command shares: described options, one-line errors naming the command, the version. */
class CliConventionsTest {

    @TempDir
    Path dir;

    private static void walk(CommandLine cl, List<CommandLine> into) {
        into.add(cl);
        cl.getSubcommands().values().forEach(sub -> walk(sub, into));
    }

    @Test
    void everyOptionAndParameterOfEveryCommandHasADescription() {
        List<CommandLine> commands = new ArrayList<>();
        walk(new CommandLine(new Tessera()), commands);
        assertTrue(commands.size() > 20, "walked " + commands.size() + " commands");
        List<String> undescribed = new ArrayList<>();
        for (CommandLine cl : commands) {
            for (ArgSpec arg : cl.getCommandSpec().args()) {
                if (arg.hidden()) {
                    continue;
                }
                String text = String.join(" ", arg.description()).strip();
                if (text.isEmpty()) {
                    String name = arg instanceof OptionSpec o ? o.longestName() : arg.paramLabel();
                    undescribed.add(cl.getCommandSpec().qualifiedName() + " " + name);
                }
            }
        }
        assertEquals(List.of(), undescribed);
    }

    @Test
    void anUnknownOptionIsOneLineNamingTheFullCommandAndHelp() {
        CliTest.Result r = CliTest.tessera("bench", "serve", "--bogus", "1");
        assertEquals(CliErrors.USAGE, r.code());
        assertEquals("tessera bench serve: Unknown options: '--bogus', '1' (see 'tessera bench serve --help')",
                r.err().strip());
        assertEquals("", r.out());
    }

    @Test
    void aMissingRequiredOptionIsOneLine() {
        CliTest.Result r = CliTest.tessera("plan", "memory");
        assertEquals(CliErrors.USAGE, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("tessera plan memory: Missing required option"), r.err());
        assertTrue(r.err().strip().endsWith("(see 'tessera plan memory --help')"), r.err());
    }

    @Test
    void aBadValueIsOneLine() {
        CliTest.Result r = CliTest.tessera("run", "--model", "m.gguf", "--max-tokens", "many");
        assertEquals(CliErrors.USAGE, r.code());
        assertEquals("tessera run: Invalid value for option '--max-tokens': 'many' is not an int"
                + " (see 'tessera run --help')", r.err().strip());
    }

    @Test
    void aFailingSubcommandNamesItsFullCommand() {
        CliTest.Result r = CliTest.tessera("plan", "memory", "--model", "no-such-shape");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("tessera plan memory: "), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void aMissingOutputDirectoryGetsASentence() {
        Path out = dir.resolve("no-such-dir").resolve("s.gguf");
        CliTest.Result r = CliTest.tessera("convert", "--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--type", "Q8_0", "-o", out.toString());
        assertEquals(1, r.code());
        String line = r.err().strip();
        assertTrue(line.startsWith("tessera convert: cannot open " + out), line);
        assertTrue(line.endsWith(": the directory " + out.getParent() + " does not exist"), line);
    }

    @Test
    void synthShapesNamedLikeAPlanPresetAreThatModel() {
        List<String> shared = new ArrayList<>();
        for (String name : ModelShape.names()) {
            ModelCatalog.Preset preset = ModelCatalog.preset(name);
            if (preset == null) {
                continue;
            }
            shared.add(name);
            ModelConfig synth = ModelShape.named(name).config();
            assertEquals(preset.shape().hidden(), synth.dim(), name);
            assertEquals(preset.shape().layers(), synth.layers(), name);
            assertEquals(preset.shape().heads(), synth.heads(), name);
            assertEquals(preset.shape().kvHeads(), synth.kvHeads(), name);
            assertEquals(preset.shape().intermediate(), synth.hiddenDim(), name);
        }
        assertTrue(shared.containsAll(List.of("llama-3.2-1b", "llama-3.1-8b", "llama-3-8b", "llama-2-7b")),
                shared.toString());
    }

    @Test
    void infoJsonIsSnakeCaseWithIntegerByteCounts() throws Exception {
        CliTest.Result r = CliTest.tessera("info", "--json", TestModels.stories260K().toString());
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        List<String> badNames = new ArrayList<>();
        checkNames(o, "", badNames);
        assertEquals(List.of(), badNames);
        assertEquals(64, o.get("config").get("dim").asInt());
        assertEquals("swiglu", o.get("config").get("feed_forward").asText(), r.out());
        for (String bytes : List.of("file_bytes", "weights_bytes", "kv_cache_bytes_per_token_f16")) {
            assertTrue(o.get(bytes).isIntegralNumber() && o.get(bytes).asLong() > 0, bytes + " in " + r.out());
        }
        o.get("bytes_by_type").forEach(v -> assertTrue(v.isIntegralNumber(), r.out()));
    }

    /** Every field name below {@code node} is snake_case; the by-type maps are keyed by GGUF type names. */
    private static void checkNames(JsonNode node, String path, List<String> bad) {
        node.fieldNames().forEachRemaining(name -> {
            if (!path.endsWith("_by_type") && !name.matches("[a-z][a-z0-9_]*")) {
                bad.add(path + "/" + name);
            }
            checkNames(node.get(name), path + "/" + name, bad);
        });
    }

    @Test
    void versionComesFromTheBuild() {
        CliTest.Result r = CliTest.tessera("--version");
        assertEquals(0, r.code());
        assertTrue(r.out().matches("(?s)tessera \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?( \\([0-9a-f]+\\))?, Java .*"), r.out());
        assertFalse(r.out().contains("dev"), r.out());
    }
}
