package org.l2l4j.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.l2l4j.optimizees.ParameterTensor;

/**
 * The paper's CIFAR-10 network ({@code ConvNetSpec.paper()}) written with libtorch's functional
 * operations as a framework user would write it: conv2d (5x5, same padding, no bias), batch_norm
 * in training mode, relu and max_pool2d (2x2) three times, then linear, batch_norm and relu,
 * linear with bias, log_softmax and nll_loss (mean over the minibatch); the gradient by autograd.
 * Its parameters are leaf tensors named and shaped as {@link ParameterTensor}s of the family,
 * loaded from a flat theta; images are NCHW, the layout of the CIFAR-10 records.
 */
final class TorchConvNet implements AutoCloseable {
    private static final double BN_EPSILON = 1e-5;
    private final List<ParameterTensor> tensors;
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Tensor images;
    private final Tensor labels;

    /**
     * @param tensors the family's tensors, in theta's order
     * @param theta   flat parameters
     * @param pixels  [m][3 * 32 * 32] images, channel-major, flattened
     * @param classes the label of each image
     */
    TorchConvNet(List<ParameterTensor> tensors, float[] theta, float[] pixels, long[] classes, int m) {
        this.tensors = tensors;
        for (ParameterTensor t : tensors) {
            long[] shape = java.util.Arrays.stream(t.shape()).asLongStream().toArray();
            float[] values = java.util.Arrays.copyOfRange(theta, t.offset(), t.offset() + t.size());
            Tensor p = Tensor.create(values, shape);
            p.set_requires_grad(true);
            parameters.put(t.name(), p);
        }
        images = Tensor.create(pixels, m, 3, 32, 32);
        labels = Tensor.create(classes, m);
    }

    private Tensor p(String name) {
        return parameters.get(name);
    }

    private Tensor batchNormRelu(Tensor x, String name) {
        return torch.relu(torch.batch_norm(x, new TensorOptional(p(name + ".weight")),
                new TensorOptional(p(name + ".bias")), new TensorOptional(), new TensorOptional(), true, 0.1,
                BN_EPSILON, false));
    }

    /** The mean cross-entropy of the minibatch, and the gradient of every parameter by autograd. */
    double lossAndGradient() {
        try (PointerScope scope = new PointerScope()) {
            for (Tensor t : parameters.values()) {
                if (t.grad().defined()) {
                    t.grad().zero_();
                }
            }
            Tensor x = images;
            for (int l = 1; l <= 3; l++) {
                x = torch.conv2d(x, p("conv" + l + ".weight"), new TensorOptional(), new long[] {1, 1},
                        new long[] {2, 2}, new long[] {1, 1}, 1);
                x = batchNormRelu(x, "bn" + l);
                x = torch.max_pool2d(x, new long[] {2, 2}, new long[] {2, 2}, new long[] {0, 0}, new long[] {1, 1},
                        false);
            }
            x = x.reshape(x.size(0), -1);
            x = batchNormRelu(torch.linear(x, p("fc.weight")), "bn_fc");
            Tensor logits = torch.linear(x, p("out.weight"), new TensorOptional(p("out.bias")));
            Tensor loss = torch.nll_loss(torch.log_softmax(logits, 1), labels);
            loss.backward();
            return loss.item_double();
        }
    }

    /** The gradients after {@link #lossAndGradient}, flat in theta's order. */
    float[] gradient(int dimension) {
        float[] g = new float[dimension];
        for (ParameterTensor t : tensors) {
            float[] values = new float[t.size()];
            p(t.name()).grad().contiguous().data_ptr_float().get(values);
            System.arraycopy(values, 0, g, t.offset(), values.length);
        }
        return g;
    }

    @Override
    public void close() {
        parameters.values().forEach(Tensor::close);
        images.close();
        labels.close();
    }
}
