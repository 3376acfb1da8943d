"""``--device``: the choice's check, the clear error without a GPU, the batch sized for a device."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import tf_keras

from fmas_hw.cli.main import main
from fmas_hw.data.cache import load_split_arrays
from fmas_hw.data.voc import VocDataset
from fmas_hw.errors import ConfigError
from fmas_hw.eval.evaluator import SubsetEvaluator, activation_bytes, default_batch, device_batch
from fmas_hw.model.device import ComputeDevice, check_choice, visible_gpus
from fmas_hw.space import MobileNetV2Space

#: These tests check the error of --device gpu where TensorFlow sees no GPU; on a machine with one,
#: the choice succeeds and there is no error to check.
needs_no_gpu = pytest.mark.skipif(bool(visible_gpus()), reason="checks the no-GPU error of --device gpu, "
                                  "and TensorFlow sees a GPU on this machine, so --device gpu succeeds here")
H100 = ComputeDevice("gpu", ("NVIDIA H100 80GB HBM3",), 80 * 2**30)


def test_only_the_three_choices_are_accepted():
    assert [check_choice(c) for c in ("auto", "cpu", "gpu")] == ["auto", "cpu", "gpu"]
    with pytest.raises(ConfigError, match=r"device must be one of \['auto', 'cpu', 'gpu'\], got 'tpu'"):
        check_choice("tpu")


@needs_no_gpu
def test_gpu_without_one_is_a_config_error_naming_what_to_check():
    # a fresh interpreter: the choice is made before TensorFlow starts, as a worker makes it
    code = ("from fmas_hw.model.device import use_device\n"
            "from fmas_hw.errors import ConfigError\n"
            "try:\n    use_device('gpu')\nexcept ConfigError as e:\n    print('ERR', e)\n"
            "print('AUTO', use_device('auto').describe())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stdout
    assert "ERR --device gpu: TensorFlow 2.21" in out and "sees no GPU" in out and "fmas-hw[gpu]" in out
    assert "AUTO cpu: " in out and " cores" in out


@needs_no_gpu
@pytest.mark.parametrize("command", ["eval", "search"])
def test_cli_gpu_without_one_is_one_clear_error_and_no_store(command, synth_voc, tiny_mnv2_weights, tmp_path,
                                                            capsys):
    store = tmp_path / "s.sqlite"
    args = {"eval": ["eval", "--data", str(synth_voc), "--weights", str(tiny_mnv2_weights), "--device", "gpu"],
            "search": ["search", "--data", str(synth_voc), "--weights", str(tiny_mnv2_weights), "--device", "gpu",
                       "--population", "4", "--generations", "1", "--store", str(store)]}[command]
    assert main(args) == 2
    out = capsys.readouterr()
    assert "error: --device gpu: TensorFlow" in out.err and "sees no GPU" in out.err
    assert "Traceback" not in out.err + out.out
    assert not store.exists()


def test_cpu_batch_is_the_cpu_rule_and_gpu_batch_fits_half_the_memory():
    assert device_batch(64, None, 10**6) == default_batch(64)
    assert device_batch(513, ComputeDevice("cpu", ("2 cores",)), 10**9) == default_batch(513)
    image = 2 * 2**30  # 2 GiB of activations an image: 80 GiB / 2 = 40 GiB holds 20, so 16
    assert device_batch(513, H100, image) == 16
    assert device_batch(64, H100, 10**3) == 64  # capped
    assert device_batch(513, ComputeDevice("gpu", ("small",), 2**30), image) == 1  # never below one
    unknown = ComputeDevice("gpu", ("no nvidia-smi",), None)  # the assumed 8 GiB: 4 GiB / 2 GiB
    assert device_batch(513, unknown, image) == 2


def test_activation_bytes_is_three_float32_copies_of_the_largest_layer_output():
    inputs = tf_keras.Input((16, 16, 3))
    x = tf_keras.layers.Conv2D(32, 3, padding="same")(inputs)  # 16*16*32 = 8192: the largest
    model = tf_keras.Model(inputs, tf_keras.layers.Conv2D(4, 1)(x))
    assert activation_bytes(model) == 3 * 4 * 16 * 16 * 32


def test_describe_names_the_device():
    assert H100.describe() == "gpu: NVIDIA H100 80GB HBM3 (80.0 GiB)" and H100.count == 1
    assert ComputeDevice("cpu", ("2 cores",)).describe() == "cpu: 2 cores"
    assert json.loads(json.dumps(H100.to_dict()))["description"] == H100.describe()


def test_batches_staged_for_a_gpu_give_the_scores_of_host_batches(tiny_mnv2_supernet, synth_voc):
    # Without a GPU TensorFlow places the staged tensors on the CPU (soft placement): the path
    # that copies the subset to the device once is run, and must not change a count.
    images, labels = load_split_arrays(VocDataset(synth_voc, 5), "val", 64, 1.0)
    space = MobileNetV2Space()
    host = SubsetEvaluator(tiny_mnv2_supernet, images, labels, batch=4)
    staged = SubsetEvaluator(tiny_mnv2_supernet, images, labels, batch=4, device=H100)
    for arch in (space.supernet(), space.decode("1111" + space.supernet_genome[4:])):
        assert staged.evaluate(arch).error == host.evaluate(arch).error
        np.testing.assert_array_equal(staged.per_image_counts(arch), host.per_image_counts(arch))
    assert staged._staged is not None and len(staged._staged) == 3  # 10 images, batch 4
