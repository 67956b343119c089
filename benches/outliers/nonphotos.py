import numpy as np, zlib, struct, sys
def save_png(path, a):
    h,w,_=a.shape
    raw=b''.join(b'\x00'+a[y].astype(np.uint8).tobytes() for y in range(h))
    def chunk(t,d): return struct.pack('>I',len(d))+t+d+struct.pack('>I',zlib.crc32(t+d)&0xffffffff)
    open(path,'wb').write(b'\x89PNG\r\n\x1a\n'+chunk(b'IHDR',struct.pack('>IIBBBBB',w,h,8,2,0,0,0))+chunk(b'IDAT',zlib.compress(raw,9))+chunk(b'IEND',b''))
def diagram(w,h,seed):
    r=np.random.default_rng(seed); a=np.full((h,w,3),255,np.uint8)
    # text lines: words of glyph-like blocks
    y=8
    while y<h*0.45:
        x=8
        while x<w-60:
            wl=r.integers(3,9)
            for _ in range(wl):
                gw=r.integers(3,7); 
                g=r.random((9,gw))<0.45; a[y:y+9,x:x+gw][g]=0; x+=gw+1
            x+=6
        y+=15
    # bar chart with axes
    base=h-10; a[int(h*0.5):base, 20:22]=0; a[base-2:base, 20:w-10]=0
    cols=[(220,40,40),(40,90,220),(40,170,60),(240,170,0)]
    for i,x in enumerate(range(35,w-30,int((w-60)/8))):
        bh=int(r.integers(10,int(h*0.4))); a[base-2-bh:base-2,x:x+14]=cols[i%4]
    for yy in range(int(h*0.5),base,12): a[yy,22:w-10:4]=160
    return a
def screenshot(w,h,seed):
    r=np.random.default_rng(seed); a=np.full((h,w,3),240,np.uint8)
    a[:22]=(50,60,80); a[22:,:70]=(225,228,235)
    for y in range(30,h-10,16):
        a[y:y+8,6:6+r.integers(30,60)]=90
        x=80
        while x<w-40:
            l=r.integers(10,50); a[y:y+7,x:x+l]=30; x+=l+5
    a[h-40:h-20,w-90:w-20]=(30,110,230)
    return a
if __name__=='__main__':
    kind,path,w,h,seed=sys.argv[1],sys.argv[2],int(sys.argv[3]),int(sys.argv[4]),int(sys.argv[5])
    save_png(path,{'diagram':diagram,'screenshot':screenshot}[kind](w,h,seed))
