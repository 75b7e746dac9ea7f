"""Per-tool cue phrases of TaskBench's 40 tools: they become those tools' ``hints``.

Written once per TOOL from its description and common English synonyms (summarize / condense /
brief; stabilize / shaky), never from individual records, so it carries over to any request
that uses the same 40 tools. Data only: the planner (``planning.hints``) matches a tool's
hints, whether they come from here or from a studio tool's spec.
"""

from __future__ import annotations

CUES: dict[str, list[str]] = {
    "Image Downloader": [
        r"download\w*\b[^.?!]{0,40}\b(image|photo|picture|pic)",
        r"(image|photo|picture)\b[^.?!]{0,30}\b(from|at) (this|the|a)?\s*(url|link|website|site)",
    ],
    "Video Downloader": [
        r"download\w*\b[^.?!]{0,40}\bvideo",
        r"video\b[^.?!]{0,30}\b(from|at) (this|the|a)?\s*(url|link|website|site)",
    ],
    "Audio Downloader": [
        r"download\w*\b[^.?!]{0,40}\b(audio|song|music|podcast|sound)",
        r"(audio|song|podcast)\b[^.?!]{0,30}\b(from|at) (this|the|a)?\s*(url|link|website)",
    ],
    "Text Downloader": [
        r"download\w*\b[^.?!]{0,40}\b(text|article|content|page)",
        r"(text|content|article) (of|from) (the|this|a)?\s*(url|link|web ?page|website|site)",
    ],
    "Text Search": [
        r"search\w*\b[^.?!]{0,30}\b(information|internet|web|online|info|articles?)",
        r"look up",
        r"(find|gather|get) (some |more )?(information|info|details|facts)",
        r"research",
    ],
    "Image Search": [
        r"(find|search|look for|get|fetch)\w*\b[^.?!]{0,40}\b(images|photos|pictures|image|photo|picture)",  # noqa: E501
        r"image search",
    ],
    "Image Search (by Image)": [
        r"similar (images|photos|pictures)",
        r"(images|photos|pictures) (that|which) (look|are|bear)\w* (similar|alike|resembl)",
        r"resembl",
        r"reverse image",
    ],
    "URL Extractor": [
        r"extract\w*\b[^.?!]{0,30}\b(url|link|web address)",
        r"(url|link)s? (from|in|within|embedded)",
        r"identify\w*\b[^.?!]{0,30}\b(url|link)",
    ],
    "Video Search": [
        r"(find|search|look for|get|fetch|locate)\w*\b[^.?!]{0,40}\b(video|tutorial|clip)"
    ],
    "Text-to-Image": [
        r"(generate|create|make|produce|design|draw|paint)\w*\b[^.?!]{0,40}\b(image|picture|illustration|visual|artwork|drawing|art)",
        r"visuali[sz]",
        r"illustrat",
    ],
    "Text-to-Video": [
        r"(generate|create|make|produce)\w*\b[^.?!]{0,40}\b(video|animation|clip|movie)",
        r"text-to-video",
    ],
    "Text-to-Audio": [
        r"(generate|create|make|produce|convert)\w*\b[^.?!]{0,40}\b(audio|speech|narrat|voice|sound|spoken)",
        r"read (it |this )?(out|aloud)",
        r"text-to-(audio|speech)",
        r"narrat",
    ],
    "Image-to-Text": [
        r"(text|words|writing|caption|information) (in|from|on) (the|this|my|an|that)?\s*(image|photo|picture|snapshot|screenshot|scan)",  # noqa: E501
        r"\bocr\b",
        r"extract\w*\b[^.?!]{0,30}\btext",
        r"(describe|description of)\b[^.?!]{0,20}\b(image|photo|picture)",
        r"(image|photo|picture)\b[^.?!]{0,20}\b(to|into) (text|words)",
    ],
    "Audio-to-Text": [
        r"transcri\w*\b[^.?!]{0,40}\b(audio|speech|recording|podcast|voice|lecture|interview|song|\.wav|\.mp3)",
        r"(audio|speech|voice|recording)\b[^.?!]{0,20}\b(to|into) text",
        r"speech recognition",
        r"transcri",  # which medium is settled by types (structure.drop_unfed)
    ],
    "Video-to-Text": [
        r"transcri\w*\b[^.?!]{0,40}\b(video|\.mp4|clip|movie)",
        r"(video)\b[^.?!]{0,20}\b(to|into) text",
        r"transcri",
    ],
    "Audio Noise Reduction": [
        r"noise",
        r"clean\w*\b[^.?!]{0,20}\b(audio|sound|recording|up)",
        r"background (sound|hum|hiss)",
        r"hiss|hum\b|muffled",
    ],
    "Audio Effects": [
        r"reverb|echo|chorus|equali[sz]",
        r"(audio|sound) effect",
        r"effects? to (the|my|this)",
    ],
    "Audio Splicer": [
        r"(combine|merge|splice|join|mix|blend|concatenat)\w*\b[^.?!]{0,50}\b(audio|sound|track|recording|song|clip|\.wav|\.mp3)",
        r"splic",
    ],
    "Voice Changer": [
        r"(change|alter|modify|transform|adjust)\w*\b[^.?!]{0,30}\b(voice|pitch|tone)",
        r"voice chang",
        r"(deeper|higher|female|male|robotic) voice",
        r"pitch",
    ],
    "Text Summarizer": [
        r"summar",
        r"condens",
        r"\bbrief\b",
        r"shorter version",
        r"main (points|ideas)",
        r"gist|tl;?dr",
    ],
    "Text Translator": [
        r"translat",
        r"(into|to|in) english",
        r"(french|spanish|german|chinese|japanese|italian|russian|portuguese)",
    ],
    "Text Sentiment Analysis": [
        r"sentiment",
        r"positive|negative|neutral",
        r"(emotion|mood|feeling|tone)s? (of|in|behind|conveyed)",
    ],
    "Text Grammar Checker": [
        r"grammar|grammatical|spelling|proofread|typos?\b",
        r"(check|correct|fix)\w*\b[^.?!]{0,20}\b(errors|mistakes)",
    ],
    "Text Simplifier": [
        r"simplif|simpler|easier to (understand|read|comprehend)|plain (english|language)|easy to (understand|comprehend|read)|layman"  # noqa: E501
    ],
    "Text Expander": [
        r"expand|elaborat|more detail|flesh (it )?out|lengthen|in more depth|more descriptive"
    ],
    "Keyword Extractor": [
        r"keyword|key ?phrases|key (terms|words|points|topics)|important (words|terms|phrases)"
    ],
    "Text Paraphraser": [r"paraphras|rephras|reword|in (other|different) words|restat"],
    "Article Spinner": [
        r"spin|unique version|rewrit\w* (the |this |my )?(article|blog|post|essay)|plagiari|synonym"
    ],
    "Topic Generator": [r"topics?\b|ideas|brainstorm|themes|subjects for"],
    "Audio-to-Image": [
        r"waveform|spectrogram",
        r"visual representation of (the|this|my)?\s*(audio|sound|song|music|recording)",
        r"(audio|sound)\b[^.?!]{0,30}\b(image|visual)",
    ],
    "Image-to-Video": [
        r"slide ?show",
        r"(images|photos|pictures)\b[^.?!]{0,40}\b(into|to) a video",
        r"video (from|using) (the |these |my |two )?(images|photos|pictures)",
    ],
    "Video-to-Audio": [
        r"(extract|separate|isolat|pull|get|rip|strip)\w*\b[^.?!]{0,30}\b(audio|sound|soundtrack|music)\b[^.?!]{0,30}\b(video|\.mp4|clip)",
        r"audio track",
        r"video\b[^.?!]{0,20}\b(to|into) audio",
    ],
    "Video-to-Image": [
        r"(still|frame|snapshot|screenshot|thumbnail)",
        r"(extract|get|capture|grab|take)\w*\b[^.?!]{0,30}\b(image|picture|photo)\b[^.?!]{0,20}\b(from|of) (the|this|my|a)?\s*(video|clip)",  # noqa: E501
    ],
    "Image Stitcher": [
        r"stitch|panoram|collage",
        r"(combine|merge|join|blend|put together)\w*\b[^.?!]{0,40}\b(images|photos|pictures)",
    ],
    "Image Colorizer": [
        r"colou?ri[sz]|black[- ]and[- ]white|add (some )?colou?r|grayscale|greyscale|monochrome"
    ],
    "Image Style Transfer": [
        r"style transfer|(artistic|visual|painting) style|style of|in the style|stylize|stylise"
    ],
    "Video Stabilizer": [r"stabili[sz]|shak|jitter|steady|wobbl"],
    "Video Speed Changer": [
        r"speed|slow(er|ing)? (it |this |the video )?down|faster|slower|slow[- ]motion|fast[- ]forward|pace|playback rate|time[- ]lapse"  # noqa: E501
    ],
    "Video Synchronization": [
        r"synchroni[sz]|\bsync|align\w*\b[^.?!]{0,40}\b(audio|voiceover|sound)|match (the )?(audio|sound)"  # noqa: E501
    ],
    "Video Voiceover": [r"voice[- ]?over|narrat\w*\b[^.?!]{0,40}\bvideo|dub"],
}
