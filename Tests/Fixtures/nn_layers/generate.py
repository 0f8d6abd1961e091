"""Reference data for the NN layer tests, computed by PyTorch on CPU in float32.

Run from this folder: `python3 generate.py` (needs torch and safetensors). Writes
`layers.safetensors` (per case: `<case>.input`, `<case>.output`, extra inputs/outputs, and the
module's state dict under `<case>.state.<key>`) and `modules.json` (per case: repr(module) and the
ordered state-dict keys, plus a few composite modules).
"""
import json

import torch
import torch.nn as nn
from safetensors.torch import save_file

torch.manual_seed(0)
tensors = {}
reprs = {}


def record(case, module, inputs, outputs, extra=None):
    for key, value in module.state_dict().items():
        tensors[f"{case}.state.{key}"] = value.detach().clone().contiguous()
    for index, value in enumerate(inputs):
        tensors[f"{case}.input{index}"] = value.detach().clone().contiguous()
    for index, value in enumerate(outputs):
        tensors[f"{case}.output{index}"] = value.detach().clone().contiguous()
    for key, value in (extra or {}).items():
        tensors[f"{case}.{key}"] = value.detach().clone().contiguous()
    reprs[case] = {"repr": repr(module), "state_keys": list(module.state_dict().keys())}


def randomize(module):
    """Non-trivial values everywhere (norm weights, biases, running statistics)."""
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.5)
        for name, buffer in module.named_buffers():
            if name.endswith("running_var"):
                buffer.copy_(torch.rand_like(buffer) + 0.5)
            elif buffer.dtype.is_floating_point:
                buffer.copy_(torch.randn_like(buffer) * 0.3)


def unary(case, module, input, train=False, randomize_module=True):
    if randomize_module:
        randomize(module)
    state_before = {k: v.clone() for k, v in module.state_dict().items()}
    module.train(train)
    original = input.clone()
    with torch.no_grad():
        output = module(input)
    after = {f"after.{k}": v for k, v in module.state_dict().items()}
    # Record the state *before* the call (what the Swift side loads), the state after as extras.
    for key, value in state_before.items():
        tensors[f"{case}.state.{key}"] = value.contiguous()
    tensors[f"{case}.input0"] = original.contiguous()
    tensors[f"{case}.output0"] = output.clone().contiguous()
    if train:
        for key, value in after.items():
            tensors[f"{case}.{key}"] = value.contiguous()
    reprs[case] = {"repr": repr(module), "state_keys": list(module.state_dict().keys())}


# Linear
unary("linear", nn.Linear(5, 3), torch.randn(2, 4, 5))
unary("linear_nobias", nn.Linear(5, 3, bias=False), torch.randn(4, 5))
# Conv2d
unary("conv", nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.randn(2, 4, 9, 9))
unary("conv_grouped_nobias", nn.Conv2d(4, 6, (3, 1), stride=(1, 2), padding=(2, 0), dilation=(2, 1), groups=2, bias=False),
      torch.randn(2, 4, 7, 8))
# BatchNorm2d
unary("batchnorm_eval", nn.BatchNorm2d(3), torch.randn(2, 3, 4, 5))
unary("batchnorm_train", nn.BatchNorm2d(3, momentum=0.2), torch.randn(2, 3, 4, 5), train=True)
unary("batchnorm_train_cumulative", nn.BatchNorm2d(3, momentum=None), torch.randn(2, 3, 4, 5), train=True)
unary("batchnorm_noaffine", nn.BatchNorm2d(3, affine=False, eps=1e-3), torch.randn(2, 3, 4, 5))
unary("batchnorm_nobias", nn.BatchNorm2d(3, bias=False), torch.randn(2, 3, 4, 5))
unary("batchnorm_untracked", nn.BatchNorm2d(3, track_running_stats=False), torch.randn(2, 3, 4, 5))
# LayerNorm / GroupNorm
unary("layernorm", nn.LayerNorm(8, eps=1e-6), torch.randn(2, 5, 8))
unary("layernorm_2d_nobias", nn.LayerNorm((5, 8), bias=False), torch.randn(2, 5, 8))
unary("groupnorm", nn.GroupNorm(2, 6), torch.randn(2, 6, 3, 3))
unary("groupnorm_nobias", nn.GroupNorm(3, 6, eps=1e-3, bias=False), torch.randn(2, 6, 3, 3))
# Embedding
embedding = nn.Embedding(10, 4, padding_idx=0)
unary("embedding", embedding, torch.tensor([[1, 2, 0], [9, 3, 3]]))
# Activations
x = torch.randn(2, 3, 5) * 3
unary("relu", nn.ReLU(), x)
unary("relu_inplace", nn.ReLU(inplace=True), x.clone())
unary("gelu", nn.GELU(), x)
unary("gelu_tanh", nn.GELU(approximate="tanh"), x)
unary("silu", nn.SiLU(), x)
unary("sigmoid", nn.Sigmoid(), x)
unary("tanh", nn.Tanh(), x)
unary("softmax", nn.Softmax(dim=1), x)
unary("flatten", nn.Flatten(), torch.randn(2, 3, 4, 5))
unary("dropout_eval", nn.Dropout(0.3), x)
# Pooling
image = torch.randn(2, 3, 9, 9)
unary("maxpool", nn.MaxPool2d(3, 2, 1), image)
unary("maxpool_ceil", nn.MaxPool2d((3, 2), stride=(2, 2), ceil_mode=True), image)
unary("avgpool", nn.AvgPool2d(3, 2, 1), image)
unary("avgpool_nopad", nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), image)
unary("adaptive", nn.AdaptiveAvgPool2d((2, 3)), torch.randn(2, 3, 7, 5))
unary("adaptive_global", nn.AdaptiveAvgPool2d(1), torch.randn(2, 3, 7, 5))
unary("identity", nn.Identity(), x)


# MultiheadAttention
def attention(case, module, query, key, value, **kwargs):
    randomize(module)
    module.eval()
    with torch.no_grad():
        output, weights = module(query, key, value, **kwargs)
    extra = {}
    if "key_padding_mask" in kwargs:
        extra["key_padding_mask"] = kwargs["key_padding_mask"].to(torch.uint8)
    if "attn_mask" in kwargs:
        mask = kwargs["attn_mask"]
        extra["attn_mask"] = mask.to(torch.uint8) if mask.dtype == torch.bool else mask
    outputs = [output] + ([weights] if weights is not None else [])
    record(case, module, [query, key, value], outputs, extra)


L, S, N, E = 4, 5, 2, 8
query, key, value = torch.randn(L, N, E), torch.randn(S, N, E), torch.randn(S, N, E)
attention("mha", nn.MultiheadAttention(E, 2), query, key, value)
attention("mha_self_batch_first", nn.MultiheadAttention(E, 4, batch_first=True),
          query.transpose(0, 1), query.transpose(0, 1), query.transpose(0, 1), average_attn_weights=False)
padding = torch.tensor([[False, False, False, True, True], [False, False, False, False, False]])
causal = torch.triu(torch.ones(L, S, dtype=torch.bool), diagonal=2)
attention("mha_masks", nn.MultiheadAttention(E, 2), query, key, value, key_padding_mask=padding, attn_mask=causal)
attention("mha_float_mask_noweights", nn.MultiheadAttention(E, 2, bias=False), query, key, value,
          attn_mask=torch.randn(L, S), need_weights=False)
attention("mha_kvdim", nn.MultiheadAttention(E, 2, kdim=6, vdim=3), query, torch.randn(S, N, 6), torch.randn(S, N, 3))
attention("mha_unbatched", nn.MultiheadAttention(E, 2), query[:, 0], key[:, 0], value[:, 0])

def describe(case, module):
    reprs[case] = {"repr": repr(module), "state_keys": list(module.state_dict().keys())}


# Descriptions of composites.
describe("sequential", nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
                                         nn.Sequential(nn.Linear(4, 2)), nn.Identity()))
describe("modulelist", nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4)]))
describe("moduledict", nn.ModuleDict({"conv": nn.Conv2d(1, 2, 1), "act": nn.GELU()}))
describe("maxpool_default", nn.MaxPool2d(2))
describe("dropout_default", nn.Dropout())
describe("empty_modulelist", nn.ModuleList())

# The fixture architectures (golden state-dict key order and repr for the test-only copies).
import torchvision
from torchvision.models.resnet import BasicBlock, ResNet
from torchvision.models.vision_transformer import VisionTransformer
describe("resnet_basic_1111", ResNet(BasicBlock, [1, 1, 1, 1]))
describe("vit_tiny", VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64,
                                       num_classes=10))

save_file(tensors, "layers.safetensors", metadata={"generator": "generate.py", "torch": torch.__version__})
with open("modules.json", "w") as file:
    json.dump(reprs, file, indent=1, sort_keys=True)
print(len(tensors), "tensors,", len(reprs), "reprs")
