// Stand-in images for the local node (test support, not the product): tiny static programs
// packed into one-layer image archives by e2e/harness/images.ts.
module pando-webhook/e2e/images

go 1.26.0
