"""Tiny random-weight SDXL, ControlNet and LoRA weights, built offline for tests and benchmarks.

The configs follow diffusers' own test components (shrunk); the tokenizer is written here
because nothing may be downloaded. Random weights give noise: tests assert sizes, determinism,
metadata and that a LoRA or a control image changes the output, never the content.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEXT_HIDDEN = 32
TIME_DIM = 8


def _byte_table() -> dict[int, str]:
    # transformers 5 no longer exports bytes_to_unicode: CLIP's byte -> printable char table.
    bs = list(range(ord("!"), ord("~") + 1))
    bs += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


def write_tokenizer(folder: Path, pad_token: str) -> None:
    """A byte-level CLIP tokenizer with no merges (every byte is a token)."""
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(_byte_table().values())
    vocab: dict[str, int] = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    # The specials last: the legacy pooled-output path takes argmax(input_ids) as the EOS.
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    config = {
        "model_max_length": 77,
        "pad_token": pad_token,
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "tokenizer_class": "CLIPTokenizer",
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config))


def tiny_unet(block: tuple[int, int] = (32, 64)) -> Any:
    """A two-block SDXL-shaped UNet."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=block,
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=TIME_DIM,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=6 * TIME_DIM + TEXT_HIDDEN,
        cross_attention_dim=2 * TEXT_HIDDEN,
        norm_num_groups=8,
    )


def build_tiny_sdxl(folder: Path, seed: int = 0) -> Path:
    """Save a tiny SDXL pipeline (diffusers layout) under ``folder``; returns the folder."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        CLIPTextModelWithProjection,
        CLIPTokenizer,
    )

    torch.manual_seed(seed)
    unet = tiny_unet()
    vae = AutoencoderKL(
        block_out_channels=[8, 8, 8, 8],  # four blocks: the latent is 1/8 of the image, as SDXL
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=4,
        norm_num_groups=8,
        layers_per_block=1,
        sample_size=64,
    )
    text_config = CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=2,
        hidden_size=TEXT_HIDDEN,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        pad_token_id=1,
        vocab_size=600,
        hidden_act="gelu",
        projection_dim=TEXT_HIDDEN,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        steps_offset=1,
        beta_schedule="scaled_linear",
        timestep_spacing="leading",
    )
    tok_dir = folder.parent / f"{folder.name}-tokenizers"
    write_tokenizer(tok_dir / "one", "<|endoftext|>")
    write_tokenizer(tok_dir / "two", "!")  # SDXL's second tokenizer pads with "!"
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(text_config),
        text_encoder_2=CLIPTextModelWithProjection(text_config),
        tokenizer=CLIPTokenizer.from_pretrained(str(tok_dir / "one")),
        tokenizer_2=CLIPTokenizer.from_pretrained(str(tok_dir / "two")),
        unet=unet,
        scheduler=scheduler,
        add_watermarker=False,
    )
    pipe.save_pretrained(str(folder))
    return folder


def build_tiny_controlnet(pipeline_dir: Path, folder: Path) -> Path:
    """A ControlNet made from the tiny pipeline's UNet (random conditioning embedding)."""
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(str(pipeline_dir / "unet"))
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 8, 16, 16))
    with torch.no_grad():
        # from_unet zero-initialises the output convolutions (a no-op ControlNet); give them
        # weight so conditioning visibly changes the image.
        zeroed = [*controlnet.controlnet_down_blocks, controlnet.controlnet_mid_block]
        for module in [*zeroed, controlnet.controlnet_cond_embedding.conv_out]:
            module.weight.normal_(0, 0.5)
    controlnet.save_pretrained(str(folder))
    return folder


def build_tiny_lora(
    folder: Path, name: str, block: tuple[int, int] = (32, 64), seed: int = 1
) -> Path:
    """A random LoRA for the tiny UNet (``block`` other than the pipeline's: a LoRA that does not fit)."""
    import torch
    from diffusers import StableDiffusionXLPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    unet = tiny_unet(block)
    unet.add_adapter(
        LoraConfig(
            r=4,
            lora_alpha=4,
            target_modules=["to_q", "to_k", "to_v", "to_out.0"],
            init_lora_weights=False,  # random B: the adapter changes the output
        )
    )
    with torch.no_grad():
        for param_name, param in unet.named_parameters():
            if "lora_" in param_name:
                param.normal_(0, 0.3)
    folder.mkdir(parents=True, exist_ok=True)
    StableDiffusionXLPipeline.save_lora_weights(
        str(folder),
        unet_lora_layers=get_peft_model_state_dict(unet),
        weight_name=f"{name}.safetensors",
        safe_serialization=True,
    )
    return folder / f"{name}.safetensors"
