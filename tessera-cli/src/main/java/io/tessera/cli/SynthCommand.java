package io.tessera.cli;

import io.tessera.core.format.Units;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.hf.Fp8Scales;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.OutlierChannels;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import io.tessera.core.tokenizer.Llama2cTokenizerReader;
import io.tessera.core.tokenizer.Vocabulary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera synth}: a random-weight model in the exact shape of a real one, as a GGUF file or a
 * Hugging Face checkpoint directory (the same weights for the same seed).
 */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Write a random-weight model with the exact shape of a named real model, deterministic from a "
                + "seed: the workload of speed and memory benchmarks.")
final class SynthCommand implements Callable<Integer> {

    @Option(names = "--shape", required = true, paramLabel = "NAME", completionCandidates = ShapeNames.class,
            description = "Model shape: ${COMPLETION-CANDIDATES}. A name that is also a `tessera plan` "
                    + "preset (llama-3.2-1b, llama-3.1-8b, llama-3-8b, llama-2-7b) is the same model there.")
    String shape;

    /** The catalog's shape names, so that the help lists every shape there is. */
    static final class ShapeNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return ModelShape.names().iterator();
        }
    }

    @Option(names = "--type", paramLabel = "TYPE",
            description = "Weight type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, or Q4_K_M (default: Q8_0; "
                    + "BF16 for --format hf, which takes F32, F16, BF16 or FP8: E4M3 linear layers with one scale "
                    + "per output channel, compressed-tensors style).")
    String type;

    @Option(names = "--format", defaultValue = "gguf", paramLabel = "FORMAT",
            description = "gguf (a file) or hf (a Hugging Face checkpoint directory: config.json, model.safetensors, "
                    + "generation_config.json and a made-up byte-level tokenizer.json) (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "Take the vocabulary (and its size) from this llama2.c tokenizer file, e.g. the Llama 2 one.")
    Path tokenizer;

    @Option(names = "--vocab-size", paramLabel = "N",
            description = "Size of the generated vocabulary when no tokenizer is given (default: the model's own).")
    Integer vocabSize;

    @Option(names = "--layers", paramLabel = "N", description = "Override the layer count (default: the model's own).")
    Integer layers;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--outlier-channels", defaultValue = "0", paramLabel = "N",
            description = "GGUF only: inject N activation outlier channels per width without changing what the model "
                    + "computes (norm weights and V/up rows x --outlier-scale, the weights reading them divided by it), "
                    + "as large trained models have them; for testing int8 activation schemes (default: none).")
    int outlierChannels;

    @Option(names = "--outlier-scale", defaultValue = "50", paramLabel = "S",
            description = "How much larger the outlier channels are (default: ${DEFAULT-VALUE}).")
    float outlierScale;

    @Option(names = {"--out", "-o"}, required = true, paramLabel = "PATH",
            description = "Output GGUF file, or directory for --format hf.")
    Path out;

    @Override
    public Integer call() throws Exception {
        ModelShape s = ModelShape.named(shape);
        if (layers != null) {
            s = s.withLayers(layers);
        }
        switch (format.toLowerCase(Locale.ROOT)) {
            case "gguf" -> {
                return writeGguf(s);
            }
            case "hf" -> {
                return writeCheckpoint(s);
            }
            default -> throw new IllegalArgumentException("--format '" + format + "' is not supported (gguf, hf)");
        }
    }

    private int writeCheckpoint(ModelShape s) throws Exception {
        if (outlierChannels != 0) {
            throw new IllegalArgumentException("--outlier-channels is for --format gguf");
        }
        if (tokenizer != null) {
            throw new IllegalArgumentException("--tokenizer is for --format gguf; a checkpoint gets a made-up "
                    + "byte-level tokenizer.json of --vocab-size tokens");
        }
        SafetensorsDtype dtype;
        try {
            dtype = SafetensorsDtype.valueOf(type == null ? "BF16" : type.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            dtype = null;
        }
        boolean fp8 = "FP8".equalsIgnoreCase(type);
        if (!fp8 && dtype != SafetensorsDtype.F32 && dtype != SafetensorsDtype.F16 && dtype != SafetensorsDtype.BF16) {
            throw new IllegalArgumentException("--type '" + type + "' cannot be written to a checkpoint (F32, F16, BF16, "
                    + "FP8)");
        }
        if (vocabSize != null) {
            s = s.withVocabulary(vocabSize);
        }
        long start = System.nanoTime();
        if (fp8) {
            SyntheticModel.writeFp8Checkpoint(out, s, Fp8Scales.CHANNEL, seed);
        } else {
            SyntheticModel.writeCheckpoint(out, s, dtype, seed);
        }
        System.err.printf("wrote %s: %s shape, %s checkpoint, vocabulary %d, %s in %.1f s%n", out, s.name(),
                fp8 ? "FP8" : dtype,
                s.config().vocabSize(), Units.bytes(Files.size(out.resolve("model.safetensors"))),
                (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private int writeGguf(ModelShape s) throws Exception {
        Vocabulary vocab;
        if (tokenizer != null) {
            vocab = Llama2cTokenizerReader.read(tokenizer);
        } else {
            vocab = SyntheticVocabulary.generate(vocabSize != null ? vocabSize : s.config().vocabSize(), seed);
        }
        WeightTypes types = WeightTypes.parse(type == null ? "Q8_0" : type);
        long start = System.nanoTime();
        SyntheticModel.write(out, s, vocab, types, seed, new OutlierChannels(outlierChannels, outlierScale),
                new ProgressLine("synth", start));
        System.err.printf("wrote %s: %s shape, %s, vocabulary %d, %s in %.1f s%n", out, s.name(), types.name(),
                vocab.size(), Units.bytes(Files.size(out)), (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
