int main() { return 0; }  // wired up once the modules exist
