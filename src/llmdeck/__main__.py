from llmdeck.cli import main

main()
