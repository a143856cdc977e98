package io.tessera.core.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.util.List;

/**
 * How {@link HfCheckpointWriter} stores the linear layers of a quantized checkpoint: their dtype,
 * the scale tensor beside each and the {@code quantization_config} naming the scheme. FP8
 * ({@link Fp8Scales}) and int8 W8A8 ({@link Int8Scheme}).
 */
interface LinearQuantization {

    /** The dtype of a converted weight. */
    SafetensorsDtype dtype();

    /** Whether a linear layer with rows of {@code cols} values is converted (others stay unquantized). */
    boolean converts(int cols);

    /** Appended to a weight's name to name its scale tensor. */
    String suffix();

    /** The scales of one [rows, cols] matrix, from one pass over its rows. */
    Fp8Scales.Scales of(String name, int rows, int cols, SafetensorsWriter.Rows src) throws IOException;

    /** {@code quantization_config} for config.json; {@code notConverted} lists the linear layers left unquantized. */
    ObjectNode quantizationConfig(ObjectMapper json, List<String> notConverted);
}
