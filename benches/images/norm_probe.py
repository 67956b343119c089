# Where the picture main set is lost (benches/RESULTS.md, "Where the main set's misses are"): the
# whole picture's 64x64 luminance standardised three ways (mean/std as latentid's `planes`, median/MAD,
# rank), 4x4 block means, nearest original by Euclidean distance, per alteration row.
# Run from the repository root with the bench's venv: benches/work/images/venv/bin/python benches/images/norm_probe.py
import os, numpy as np
from PIL import Image
L='benches/work/images/library'; Q='benches/work/images/queries'
lib=sorted(os.listdir(L))
def luma(path):
    im=Image.open(path).convert('L').resize((64,64), Image.BILINEAR)
    return np.asarray(im,dtype=np.float32)/255
def norm_std(x): return (x-x.mean())/max(x.std(),1e-3)
def norm_rob(x):
    m=np.median(x); s=np.median(np.abs(x-m))*1.4826
    return np.clip((x-m)/max(s,1e-3),-4,4)
def norm_rank(x):
    r=x.ravel().argsort().argsort().reshape(x.shape).astype(np.float32)
    return (r/r.size-0.5)*3.46
def pool(x): return x.reshape(16,4,16,4).mean(axis=(1,3))
N={'std':norm_std,'robust':norm_rob,'rank':norm_rank}
base={n:np.stack([pool(f(luma(os.path.join(L,p)))).ravel() for p in lib]) for n,f in N.items()}
for row in ['text-caption','color-strong','jpeg-q10','rotate-5_','crop-85_','blur-sigma_3']:
    files=[p for p in lib if os.path.exists(os.path.join(Q,row,p))]
    res={}
    for n,f in N.items():
        ok=0; okst=0; nst=0
        for p in files:
            v=pool(f(luma(os.path.join(Q,row,p)))).ravel()
            d=((base[n]-v)**2).sum(1)
            hit=lib[int(d.argmin())]==p
            ok+=hit
            if 'stellarium' in p: nst+=1; okst+=hit
        res[n]=f'{ok}/{len(files)} (stellarium {okst}/{nst})'
    print(row,res)
