/** The part of node-forge (a devDependency without bundled types) that hack/credentials.ts uses. */
declare module "node-forge" {
  type Key = object;
  interface MessageDigest {
    update(s: string): MessageDigest;
  }
  interface CertificateField {
    name?: string;
    value?: string;
  }
  interface Certificate {
    publicKey: Key;
    serialNumber: string;
    validity: { notBefore: Date; notAfter: Date };
    setSubject(attrs: CertificateField[]): void;
    setIssuer(attrs: CertificateField[]): void;
    setExtensions(exts: object[]): void;
    sign(key: Key, md: MessageDigest): void;
  }
  const forge: {
    pki: {
      createCertificate(): Certificate;
      certificateToPem(cert: Certificate): string;
      publicKeyFromPem(pem: string): Key;
      privateKeyFromPem(pem: string): Key;
    };
    md: { sha256: { create(): MessageDigest } };
  };
  export default forge;
}
